"""The staff list's bulk actions: each ticked ticket through its own service, a report of what
was done and refused, and back to the list as it was."""

from __future__ import annotations

import pytest

from tickets.models import Category, Ticket, TicketEvent

from .page_helpers import client_for, flash_messages


@pytest.fixture
def three(make_ticket, customer) -> list[Ticket]:
    return [make_ticket(customer, title=f"Ticket {n}") for n in range(3)]


def bulk(client, tickets, action, **extra):
    data = {"tickets": [t.pk for t in tickets], "action": action, **extra}
    return client.post("/tickets/bulk/", data)


def test_take_them(agent, three):
    response = bulk(client_for(agent), three, "take", next="/tickets/?assignee=none&status=open")

    assert response.status_code == 302
    assert response["Location"] == "/tickets/?assignee=none&status=open"
    assert {(t.assignee_id, t.status) for t in Ticket.objects.all()} == {(agent.pk, "active")}
    assert TicketEvent.objects.filter(kind="assignment", actor=agent).count() == 3


def test_each_action_goes_through_its_service(agent, other_agent, three):
    client = client_for(agent)
    network = Category.objects.create(name="Network")

    bulk(client, three, f"assign:{other_agent.pk}")
    bulk(client, three[:2], "priority:urgent")
    bulk(client, three[:1], f"category:{network.pk}")
    bulk(client, three, "tag", tag=" outage ")
    bulk(client, three[1:], "close")
    bulk(client, three[2:], "reopen")

    rows = Ticket.objects.order_by("pk").values_list(
        "assignee__username", "priority", "category__name", "tag_names", "status"
    )
    assert list(rows) == [
        ("other_agent", "urgent", "Network", ["outage"], "active"),
        ("other_agent", "urgent", None, ["outage"], "closed"),
        ("other_agent", "normal", None, ["outage"], "open"),
    ]


def test_the_list_says_what_was_done_and_what_was_so_already(agent, three):
    three[0].update_status("closed", by=agent)

    response = bulk(client_for(agent), three, "close")

    assert flash_messages(response) == [
        "Closed 2 tickets.",
        f"Already so, left alone: #{three[0].pk}.",
    ]
    response = bulk(client_for(agent), three[:2], "reopen")
    assert flash_messages(response) == ["Reopened 2 tickets."]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"action": "close"}, "Tick the tickets to change first."),
        ({"tickets": ["x"], "action": "close"}, "Nothing was changed"),
        ({"tickets": [10**9], "action": "close"}, "Nothing was changed"),
        ({"tickets": [1], "action": ""}, "Choose what to do with them."),
        ({"tickets": [1], "action": "delete"}, "Nothing was changed"),
        ({"tickets": [1], "action": "tag", "tag": "a, b"}, "Type one tag to add (no commas)."),
        ({"tickets": [1], "action": "tag", "tag": ""}, "Type one tag to add (no commas)."),
    ],
)
def test_bad_input_changes_nothing_and_says_why(agent, three, data, says):
    data = {key: ([three[0].pk] if value == [1] else value) for key, value in data.items()}
    before = list(Ticket.objects.values_list("pk", "version"))

    response = client_for(agent).post("/tickets/bulk/", data)

    assert response.status_code == 302
    assert any(says in text for text in flash_messages(response)), flash_messages(response)
    assert list(Ticket.objects.values_list("pk", "version")) == before


def test_a_next_address_elsewhere_goes_back_to_the_list(agent, three):
    for where in ("https://evil.example/", "//evil.example/", "tickets/", ""):
        response = bulk(client_for(agent), three, "take", next=where)
        assert response["Location"] == "/tickets/", where


def test_customers_find_no_such_page(customer, three):
    response = bulk(client_for(customer), three, "close")

    assert response.status_code == 404
    assert not Ticket.objects.filter(status="closed").exists()


def test_the_staff_list_has_the_boxes_and_the_actions(agent, other_agent, three, customer):
    Category.objects.create(name="Billing")
    html = client_for(agent).get("/tickets/").content.decode()

    assert html.count('name="tickets"') == 3
    assert '<option value="take">Take them (assign to me)</option>' in html
    assert f'<option value="assign:{other_agent.pk}">Assign to other_agent</option>' in html
    assert '<optgroup label="Category">' in html and ">Put in Billing</option>" in html
    assert 'name="next" value="/tickets/"' in html
    assert 'name="tickets"' not in client_for(customer).get("/tickets/").content.decode()


def test_with_htmx_the_bar_posts_in_place_and_gets_the_list_back(agent, three):
    """The bar's htmx attributes swap the answer's #main into the page; the answer to an htmx
    post is the same redirect to the list, which htmx follows (the browser journey below)."""
    client = client_for(agent)
    html = client.get("/tickets/").content.decode()
    assert (
        'hx-post="/tickets/bulk/" hx-target="#main" hx-select="#main" hx-swap="outerHTML"' in html
    )
    response = client.post(
        "/tickets/bulk/",
        {"tickets": [three[0].pk], "action": "close", "next": "/tickets/"},
        headers={"HX-Request": "true"},
        follow=True,
    )
    page = response.content.decode()
    assert response.redirect_chain == [("/tickets/", 302)]
    assert '<main id="main"' in page
    assert flash_messages(response) == ["Closed 1 ticket."]
