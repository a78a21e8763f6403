"""The "New ticket" page."""

import uuid

import pytest

from tickets.models import Ticket, TicketEvent

from .page_helpers import client_for, flash_messages

NEW_URL = "/tickets/new/"


def new_ticket_data(**extra) -> dict:
    return {
        "title": "The printer is on fire",
        "description": "Smoke everywhere.\nPlease hurry.",
        "priority": "high",
        "client_token": str(uuid.uuid4()),
        **extra,
    }


def test_the_form_offers_only_what_a_reporter_may_set(login, customer):
    response = login(customer).get(NEW_URL)

    assert response.status_code == 200
    assert list(response.context["form"].fields) == [
        "title",
        "description",
        "priority",
        "client_token",
        "files",
    ]


def test_it_creates_a_ticket_owned_by_the_poster_and_redirects_to_it(login, customer):
    response = login(customer).post(NEW_URL, new_ticket_data())

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/"
    assert ticket.reporter == customer
    assert ticket.title == "The printer is on fire"
    assert ticket.description == "Smoke everywhere.\nPlease hurry."
    assert ticket.priority == Ticket.Priority.HIGH
    assert ticket.status == Ticket.Status.OPEN
    assert flash_messages(response) == [f"Ticket #{ticket.pk} was created. We will be in touch."]


def test_the_new_ticket_is_on_my_tickets(login, customer):
    client = login(customer)
    client.post(NEW_URL, new_ticket_data(title="Fresh ticket"))

    assert "Fresh ticket" in client.get("/tickets/").content.decode()


def test_forged_fields_are_ignored(login, customer, other_customer, agent):
    forged = new_ticket_data(
        status="closed",
        assignee=str(agent.pk),
        reporter=str(other_customer.pk),
        first_response_at="2020-01-01T00:00:00Z",
        closed_at="2020-01-01T00:00:00Z",
        last_staff_reply_at="2020-01-01T00:00:00Z",
        version="42",
        modified_by=str(agent.pk),
    )

    response = login(customer).post(NEW_URL, forged)

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.assignee is None
    assert ticket.reporter == customer
    assert ticket.first_response_at is None
    assert ticket.closed_at is None
    assert ticket.last_staff_reply_at is None
    assert ticket.version == 1
    assert ticket.modified_by == customer
    assert not TicketEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("title", "", "This field is required."),
        ("title", "   ", "This field is required."),
        ("title", "x" * 201, "Ensure this value has at most 200 characters (it has 201)."),
        ("description", "", "This field is required."),
        (
            "description",
            "x" * 20_001,
            "Ensure this value has at most 20000 characters (it has 20001).",
        ),
        ("priority", "extreme", "Select a valid choice. extreme is not one of the available"),
        # A tampered hidden field: refused, with the reason said above the form.
        ("client_token", "not-a-uuid", "This form is out of date or was altered; reload the page."),
    ],
)
def test_invalid_input_is_400_with_an_error_and_creates_nothing(
    field, value, error, login, customer
):
    response = login(customer).post(NEW_URL, new_ticket_data(**{field: value}))

    assert response.status_code == 400
    assert error in response.content.decode()
    assert field in response.context["form"].errors
    assert not Ticket.objects.exists()


def test_the_longest_allowed_title_and_description_are_accepted(login, customer):
    response = login(customer).post(
        NEW_URL, new_ticket_data(title="t" * 200, description="d" * 20_000)
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert len(ticket.title) == 200
    assert len(ticket.description) == 20_000


def test_a_double_submit_creates_one_ticket(login, customer):
    data = new_ticket_data()
    client = login(customer)

    first = client.post(NEW_URL, data)
    second = client.post(NEW_URL, data)

    ticket = Ticket.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/tickets/{ticket.pk}/"


def test_someone_elses_form_token_is_refused_not_a_server_error(customer, other_customer):
    data = new_ticket_data()
    client_for(customer).post(NEW_URL, data)

    response = client_for(other_customer).post(NEW_URL, data | {"title": "Mine now"})

    assert response.status_code == 400
    assert "already used" in response.content.decode()
    ticket = Ticket.objects.get()
    assert ticket.reporter == customer
    assert ticket.title == "The printer is on fire"


def test_without_a_token_each_submit_is_a_new_ticket(login, customer):
    data = new_ticket_data()
    del data["client_token"]
    client = login(customer)

    client.post(NEW_URL, data)
    client.post(NEW_URL, data)

    assert Ticket.objects.filter(reporter=customer).count() == 2


def test_title_is_escaped_on_the_pages(login, customer):
    client = login(customer)
    client.post(NEW_URL, new_ticket_data(title="<script>alert(1)</script>"))
    ticket = Ticket.objects.get()

    for path in ("/tickets/", f"/tickets/{ticket.pk}/"):
        content = client.get(path).content.decode()
        assert "<script>alert(1)</script>" not in content
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
