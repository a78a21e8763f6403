"""Staff open a ticket for a customer: the service, the new-ticket page's Customer box, the
customer's email, and the suggestions behind the box (/tickets/customers/)."""

import json
import uuid

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from post_office.models import Email

from accounts.models import User
from messaging.models import Attachment
from messaging.tests.file_helpers import png_upload
from tests.mail_helpers import html_of, recipients
from tickets.models import Ticket, TicketEvent
from tickets.selectors import CUSTOMER_SUGGESTIONS, ticket_timeline
from tickets.services import ticket_open_for

from .page_helpers import client_for, flash_messages

NEW_URL = "/tickets/new/"
SEARCH_URL = "/tickets/customers/"


def new_ticket_data(**extra) -> dict:
    return {
        "title": "Cannot print the invoices",
        "description": "She phoned: the printer says offline.",
        "priority": "high",
        "client_token": str(uuid.uuid4()),
        **extra,
    }


def open_for(agent, customer, **extra):
    fields = {"title": "Phoned in", "description": "The VPN drops.", **extra}
    return ticket_open_for(agent=agent, customer=customer, **fields)


# The service


def test_the_customer_is_the_reporter_and_an_event_names_who_opened_it(agent, customer):
    ticket = open_for(agent, "customer")

    assert ticket.reporter == customer
    assert ticket.modified_by == agent
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.actor, event.to_value) == ("opened_for", agent, "customer")
    [row] = ticket_timeline(ticket, staff=False)
    assert f"{row['actor_name']} {row['description']}" == "agent opened the ticket for customer"


def test_a_customer_is_found_by_email_in_any_case(agent, customer):
    ticket = open_for(agent, "  CUSTOMER@Example.com ")

    assert ticket.reporter == customer
    assert User.objects.count() == 2


def test_a_new_address_gets_an_account_without_a_password_or_staff(agent):
    ticket = open_for(agent, "Jane.Doe+help@Example.org")

    jane = ticket.reporter
    assert jane.username == "Jane.Doe+help"
    assert jane.email == "Jane.Doe+help@example.org"
    assert not jane.has_usable_password()
    assert not jane.is_staff and not jane.is_superuser and jane.is_active
    assert jane.email_verified_at is None


def test_the_username_made_from_an_address_is_unique(agent, make_user):
    make_user("jane")
    make_user("Jane-2")

    ticket = open_for(agent, "jane@elsewhere.example")

    assert ticket.reporter.username == "jane-3"


def test_an_address_without_usable_letters_makes_a_customer_username(agent):
    ticket = open_for(agent, '"!!"@example.com')

    assert ticket.reporter.username == "customer"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("nobody", "No customer has the username “nobody”. Type their email address instead"),
        ("not@an@address", "is not an email address"),
        ("agent", "agent is staff"),
        ("agent@example.com", "agent is staff"),
        ("", "Enter the customer's username or email address."),
    ],
)
def test_it_refuses_what_is_not_a_customer_and_saves_nothing(agent, typed, message):
    users = User.objects.count()

    with pytest.raises(ValidationError) as refused:
        open_for(agent, typed)

    assert message in " ".join(refused.value.message_dict["customer"])
    assert Ticket.objects.count() == 0
    assert User.objects.count() == users


def test_a_deactivated_customer_is_refused(agent, customer, deactivate):
    deactivate(customer)

    with pytest.raises(ValidationError, match="deactivated"):
        open_for(agent, "customer")


def test_a_refused_ticket_leaves_no_account_behind(agent):
    with pytest.raises(ValidationError):
        open_for(agent, "new@example.com", title="")

    assert not User.objects.filter(email="new@example.com").exists()


def test_only_staff_open_tickets_for_others(customer, other_customer):
    with pytest.raises(PermissionDenied):
        open_for(customer, "other_customer")

    assert Ticket.objects.count() == 0


def test_the_same_form_twice_opens_one_ticket_and_one_account(agent):
    token = uuid.uuid4()

    first = open_for(agent, "new@example.com", client_token=token)
    again = open_for(agent, "new@example.com", client_token=token)

    assert again.pk == first.pk
    assert Ticket.objects.count() == 1
    assert User.objects.filter(email="new@example.com").count() == 1


# The emails


def test_the_customer_is_told_and_staff_hear_of_it_but_not_the_agent(
    agent, other_agent, customer, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://desk.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_for(agent, "customer", title="VPN drops")

    assert recipients() == ["customer@example.com", "other_agent@example.com"]
    to_customer = next(m for m in mail.outbox if m.to == ["customer@example.com"])
    assert to_customer.subject == f"[#{ticket.pk}] VPN drops"
    assert "agent of the help desk opened a ticket for you" in to_customer.body
    assert f"https://desk.example.com/tickets/{ticket.pk}/" in to_customer.body
    assert "choose a" not in to_customer.body  # they have a password already
    to_staff = next(m for m in mail.outbox if m.to == ["other_agent@example.com"])
    assert "agent opened a ticket for customer" in to_staff.body


def test_a_new_customer_is_told_how_to_choose_a_password(
    agent, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://desk.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        open_for(agent, "new@example.com", title="<b>Printer</b>")

    [email] = [m for m in mail.outbox if m.to == ["new@example.com"]]
    assert "https://desk.example.com/accounts/password_reset/" in email.body
    html = html_of(email)
    assert "choose a password" in html
    assert "&lt;b&gt;Printer&lt;/b&gt;" in html


def test_a_new_customer_chooses_a_password_with_forgot_password_and_logs_in(
    agent, client, django_capture_on_commit_callbacks
):
    ticket = open_for(agent, "new@example.com")
    jane = ticket.reporter
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password_reset/", {"email": "NEW@example.com"})
    assert recipients() == ["new@example.com"]

    uid = urlsafe_base64_encode(force_bytes(jane.pk))
    token = default_token_generator.make_token(jane)
    page = client.get(f"/accounts/reset/{uid}/{token}/", follow=True)
    new_password = "a long new password 2026"
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    jane.refresh_from_db()
    assert jane.has_usable_password()
    assert jane.email_verified_at is not None
    response = client_for().post(
        "/accounts/login/", {"username": "new@example.com", "password": new_password}
    )
    assert response.status_code == 302


# The page


def test_staff_get_a_customer_box_first_and_customers_do_not(login, agent, customer):
    staff_form = client_for(agent).get(NEW_URL).context["form"]
    customer_form = login(customer).get(NEW_URL).context["form"]

    assert next(iter(staff_form.fields)) == "customer"
    assert "customer" not in customer_form.fields
    assert 'list="customer-suggestions"' in client_for(agent).get(NEW_URL).content.decode()


def test_staff_open_a_ticket_for_an_existing_customer(agent, customer):
    client = client_for(agent)

    response = client.post(NEW_URL, new_ticket_data(customer="customer"))

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert ticket.reporter == customer
    assert flash_messages(response) == [
        f"Ticket #{ticket.pk} was opened for customer (customer@example.com)."
    ]
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "agent opened the ticket for customer" in page
    assert "customer reported the ticket" not in page


def test_staff_open_a_ticket_for_a_new_address_with_files(agent):
    data = new_ticket_data(customer="caller@example.com", files=png_upload("screen.png"))

    response = client_for(agent).post(NEW_URL, data)

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert ticket.reporter.email == "caller@example.com"
    assert not ticket.reporter.has_usable_password()
    assert Attachment.objects.get(ticket=ticket).uploaded_by == agent


def test_staff_leaving_the_box_empty_report_it_themselves(agent):
    client_for(agent).post(NEW_URL, new_ticket_data(customer=""))

    assert Ticket.objects.get().reporter == agent
    assert not TicketEvent.objects.exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("nobody", "No customer has the username “nobody”"),
        ("other_agent@example.com", "other_agent is staff"),
        ("x@y", "is not an email address"),
        ("x" * 300 + "@example.com", "Ensure this value has at most 254 characters"),
    ],
)
def test_bad_customers_are_a_400_that_says_why_and_save_nothing(agent, other_agent, typed, message):
    users = User.objects.count()

    response = client_for(agent).post(NEW_URL, new_ticket_data(customer=typed))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors.get("customer", []))
    assert Ticket.objects.count() == 0
    assert User.objects.count() == users
    assert Email.objects.count() == 0


def test_a_nul_byte_in_the_customer_is_refused_before_anything(agent):
    # The site refuses a request with a NUL byte anywhere (tests/test_malformed_requests.py).
    response = client_for(agent).post(NEW_URL, new_ticket_data(customer="a\x00b@example.com"))

    assert response.status_code == 400
    assert Ticket.objects.count() == 0
    assert User.objects.count() == 1


def test_a_bad_title_keeps_what_the_agent_typed_and_makes_no_account(agent):
    response = client_for(agent).post(
        NEW_URL, new_ticket_data(customer="new@example.com", title="")
    )

    assert response.status_code == 400
    assert 'value="new@example.com"' in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_a_double_submit_opens_one_ticket(agent):
    data = new_ticket_data(customer="new@example.com")
    client = client_for(agent)

    first = client.post(NEW_URL, data)
    second = client.post(NEW_URL, data)

    assert first["Location"] == second["Location"]
    assert Ticket.objects.count() == 1


def test_a_customer_cannot_name_another_reporter(login, customer, other_customer):
    response = login(customer).post(
        NEW_URL, new_ticket_data(customer="other_customer", reporter=other_customer.pk)
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.reporter == customer
    assert not TicketEvent.objects.exists()


def test_a_customer_naming_a_new_address_makes_no_account(login, customer):
    login(customer).post(NEW_URL, new_ticket_data(customer="someone@example.com"))

    assert Ticket.objects.get().reporter == customer
    assert not User.objects.filter(email="someone@example.com").exists()


# The suggestions


def suggestions(client, q) -> list[dict]:
    response = client.get(SEARCH_URL, {"q": q})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)["results"]


def test_suggestions_match_the_start_of_username_email_or_name(agent, make_user, deactivate):
    alice = make_user("alice")
    alice.first_name, alice.last_name = "Alice", "Liddell"
    alice.save()
    bob = make_user("bob")
    bob.email = "alison@example.net"
    bob.save()
    make_user("malice")  # "ali" inside, not at the start
    deactivate(make_user("alina"))
    make_user("alistair", staff=True)
    client = client_for(agent)

    assert [row["username"] for row in suggestions(client, "ALI")] == ["alice", "bob"]
    assert suggestions(client, "lidd") == [
        {"username": "alice", "email": "alice@example.com", "name": "Alice Liddell"}
    ]


@pytest.mark.parametrize("hostile", ["", "   ", "%", "_", "a%", "'; drop table", "x" * 300, "<"])
def test_suggestions_for_hostile_text_are_empty_not_an_error(agent, customer, hostile):
    assert suggestions(client_for(agent), hostile) == []


def test_suggestions_cost_the_same_few_queries_and_stop_at_ten(
    agent, make_user, django_assert_max_num_queries
):
    client = client_for(agent)
    make_user("user0")
    with django_assert_max_num_queries(3):
        assert len(suggestions(client, "user")) == 1
    for n in range(1, 25):
        make_user(f"user{n}")
    with django_assert_max_num_queries(3):
        assert len(suggestions(client, "user")) == CUSTOMER_SUGGESTIONS


def test_a_nul_byte_is_refused_as_everywhere(agent):
    assert client_for(agent).get(SEARCH_URL, {"q": "a\x00"}).status_code == 400


def test_suggestions_are_not_there_for_customers(login, customer, other_customer):
    assert login(customer).get(SEARCH_URL, {"q": "other"}).status_code == 404


def test_suggestions_carry_no_password_hash(agent, customer):
    body = client_for(agent).get(SEARCH_URL, {"q": "cust"}).content.decode()

    assert customer.password not in body
    assert set(json.loads(body)["results"][0]) == {"username", "email", "name"}
