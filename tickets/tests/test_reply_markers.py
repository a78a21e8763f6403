"""Who wrote last: "customer replied" and "waiting on customer" in the staff's lists, from a
stored field that message_send keeps (and the migration filled in for older tickets)."""

from __future__ import annotations

import importlib
import re

import pytest
from django.db import connection

from tickets.models import Ticket

from .page_helpers import client_for

BACKFILL = importlib.import_module("messaging.migrations.0002_backfill_last_public_by").BACKFILL


def ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"<td>(\d+)</td>", html)]


@pytest.fixture
def tickets(make_ticket, make_message, customer, agent) -> dict[str, Ticket]:
    """One ticket in each state, oldest activity first."""
    new = make_ticket(customer, title="Nobody wrote yet")
    waiting = make_ticket(customer, title="We answered")
    make_message(waiting, agent, "Try again now.")
    replied = make_ticket(customer, title="They answered back")
    make_message(replied, agent, "Which browser?")
    make_message(replied, customer, "Firefox.")
    noted = make_ticket(customer, title="Only a note and the customer")
    make_message(noted, customer, "Any news?")
    make_message(noted, agent, "Asked the network team.", is_internal=True)
    closed = make_ticket(customer, title="Answered and closed")
    make_message(closed, agent, "Fixed.")
    closed.update_status("closed", by=agent)
    for ticket in (new, waiting, replied, noted, closed):
        ticket.refresh_from_db()
    return {"new": new, "waiting": waiting, "replied": replied, "noted": noted, "closed": closed}


def test_message_send_keeps_who_wrote_last(tickets):
    assert {name: t.last_public_by for name, t in tickets.items()} == {
        "new": "",
        "waiting": "staff",
        "replied": "customer",
        "noted": "customer",  # an internal note is not a reply
        "closed": "staff",
    }
    assert [name for name, t in tickets.items() if t.waiting_on_customer] == ["waiting"]
    # "Replied" needs a staff reply before it: a first message is not a reply to anyone.
    assert [name for name, t in tickets.items() if t.customer_replied] == ["replied"]


def test_staff_who_reported_a_ticket_write_as_its_customer(make_ticket, make_message, agent):
    ticket = make_ticket(agent)
    make_message(ticket, agent, "Still broken.")
    ticket.refresh_from_db()

    assert ticket.last_public_by == "customer"


def test_the_staff_list_marks_and_filters_them(tickets, agent):
    client = client_for(agent)

    html = client.get("/tickets/?status=all").content.decode()
    rows = dict(zip(ids(html), re.findall(r"<tr>.*?</tr>", html, re.S)[1:], strict=True))
    assert "Customer replied" in rows[tickets["replied"].pk]
    assert "Waiting on customer" in rows[tickets["waiting"].pk]
    for name in ("new", "noted", "closed"):
        row = rows[tickets[name].pk]
        assert "Customer replied" not in row and "Waiting on customer" not in row, name

    waiting = client.get("/tickets/?waiting=customer").content.decode()
    assert ids(waiting) == [tickets["waiting"].pk]
    assert '<option value="customer" selected>Waiting on customer</option>' in waiting
    assert ids(client.get("/tickets/?waiting=replied").content.decode()) == [tickets["replied"].pk]


def test_customers_see_neither_marker_nor_filter(tickets, customer):
    html = client_for(customer).get("/tickets/?status=all&waiting=customer").content.decode()

    assert len(ids(html)) == 5  # the filter is not theirs: ignored
    assert 'name="waiting"' not in html
    assert "Customer replied" not in html and "Waiting on customer" not in html


def test_a_bad_filter_value_is_refused(agent):
    response = client_for(agent).get("/tickets/?waiting=everyone")

    assert response.status_code == 400


def test_the_migration_fills_in_older_tickets_the_same_way(tickets):
    expected = dict(Ticket.objects.values_list("pk", "last_public_by"))
    Ticket.objects.update(last_public_by="")

    with connection.cursor() as cursor:
        cursor.execute(BACKFILL)

    assert dict(Ticket.objects.values_list("pk", "last_public_by")) == expected
    assert sorted(expected.values()) == ["", "customer", "customer", "staff", "staff"]
