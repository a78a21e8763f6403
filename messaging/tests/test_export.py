""" "Download my data": the person's account, their tickets and those tickets' public messages,
as one JSON file, in a fixed number of queries."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets.tests.page_helpers import client_for

DATA_URL = reverse("my_data")


def download(user) -> tuple[dict, object]:
    response = client_for(user).get(DATA_URL)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    return json.loads(body), response


def test_it_holds_the_account_tickets_and_public_messages(
    customer, other_customer, agent, make_ticket, make_message
):
    customer.first_name, customer.last_name = "Ada", "Lovelace"
    customer.save()
    agent.first_name, agent.last_name = "Grace", "Hopper"
    agent.save()
    mine = make_ticket(customer, title="Printer <on> fire", description="Smoke\n“quotes”")
    make_message(mine, customer, "Still smoking.")
    make_message(mine, agent, "A note only staff see: the customer seems upset.", is_internal=True)
    make_message(mine, agent, "Unplug it.")
    quiet = make_ticket(customer, title="Nobody answered")
    theirs = make_ticket(other_customer, title="Someone else's")
    make_message(theirs, agent, "Reply to someone else.")

    data, response = download(customer)

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="my-help-desk-data-')
    assert data["account"] == {
        "username": "customer",
        "email": "customer@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_joined": data["account"]["date_joined"],
        "last_login": data["account"]["last_login"],
        "notifications": {"email": True, "replies": True, "status_changes": True},
    }
    assert data["account"]["date_joined"].startswith(
        customer.date_joined.strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert [ticket["id"] for ticket in data["tickets"]] == [mine.pk, quiet.pk]
    first = data["tickets"][0]
    assert first["title"] == "Printer <on> fire" and first["description"] == "Smoke\n“quotes”"
    assert [(m["from"], m["from_staff"], m["content"]) for m in first["messages"]] == [
        ("customer", False, "Still smoking."),
        ("Grace Hopper", True, "Unplug it."),
    ]
    assert data["tickets"][1]["messages"] == []
    text = json.dumps(data)
    assert "upset" not in text  # no internal note
    assert "Someone else" not in text and "other_customer" not in text
    assert "agent@example.com" not in text and '"agent"' not in text  # staff: their name only


def test_staff_without_a_name_sign_with_their_username(customer, agent, ticket, make_message):
    make_message(ticket, agent, "Hello.")

    data, _ = download(customer)

    assert data["tickets"][0]["messages"][0]["from"] == "agent"


@pytest.mark.parametrize("count", [2, 20])
def test_the_number_of_queries_is_fixed(count, customer, agent, make_ticket, make_message):
    for number in range(count):
        ticket = make_ticket(customer)
        make_message(ticket, agent, f"Reply {number}")
    client = client_for(customer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(DATA_URL)
        body = b"".join(response.streaming_content)

    assert len(json.loads(body)["tickets"]) == count
    # Session, user, tickets, messages.
    assert len(queries) == 4


def test_someone_without_tickets_gets_their_account(other_customer):
    data, _ = download(other_customer)

    assert data["account"]["username"] == "other_customer" and data["tickets"] == []


def test_anonymous_visitors_log_in_first(client, db):
    response = client.get(DATA_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
