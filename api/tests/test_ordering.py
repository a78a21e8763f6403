"""The ticket list's orders (?ordering=): every ticket once, in order, forwards and backwards
through the cursor links, with ties on every key but the id; a page costs at most two queries
however deep it is."""

import base64
import json
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.pagination import TICKET_ORDERS
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(customer, make_ticket):
    """Eleven tickets: every priority and status, and times that tie (the id decides)."""
    made = []
    priorities = ["low", "normal", "high", "urgent"]
    for number in range(11):
        made.append(make_ticket(customer, priority=priorities[number % 4]))
    for ticket in made[::4]:
        ticket.update_status(Ticket.Status.CLOSED, by=customer)
    now = timezone.now()
    for number, ticket in enumerate(made):
        same = now - timedelta(minutes=number // 3)  # three tickets share each time
        Ticket.objects.filter(pk=ticket.pk).update(created_at=same, last_activity_at=same)
    return made


def expected(order: str) -> list[int]:
    return list(Ticket.objects.order_by(*TICKET_ORDERS[order]).values_list("pk", flat=True))


def walk(client, first: str, link: str) -> list[list[int]]:
    pages, url = [], first
    while url:
        body = client.get(url).json()
        pages.append([row["id"] for row in body["results"]])
        url = body[link]
    return pages


@pytest.mark.parametrize("viewer", ["customer", "agent"])
@pytest.mark.parametrize("order", sorted(TICKET_ORDERS))
def test_every_order_walks_every_ticket_once_both_ways(api, request, tickets, viewer, order):
    client = api.as_(request.getfixturevalue(viewer))
    forwards = walk(client, f"/api/v1/tickets/?ordering={order}&page_size=2", "next")
    assert [pk for page in forwards for pk in page] == expected(order)
    assert all(len(page) == 2 for page in forwards[:-1])
    # From the last page back to the first through the previous links.
    last = client.get(f"/api/v1/tickets/?ordering={order}&page_size=2").json()
    while last["next"]:
        last = client.get(last["next"]).json()
    backwards = walk(client, last["previous"], "previous")
    assert backwards == forwards[-2::-1]


def test_the_default_is_newest_reported_first(api, agent, tickets):
    rows = api.as_(agent).get("/api/v1/tickets/").json()["results"]
    assert [row["id"] for row in rows] == expected("-created")
    assert expected("-created")[:3] == sorted(t.pk for t in tickets[:3])[::-1]


def test_priority_puts_the_urgent_first(api, agent, tickets):
    rows = api.as_(agent).get("/api/v1/tickets/?ordering=priority").json()["results"]
    ranks = [row["priority"] for row in rows]
    assert ranks == sorted(ranks, key=["urgent", "high", "normal", "low"].index)


def test_a_new_ticket_does_not_shift_the_pages(api, agent, customer, tickets, make_ticket):
    client = api.as_(agent)
    first = client.get("/api/v1/tickets/?ordering=-created&page_size=4").json()
    make_ticket(customer)  # newest: before the cursor
    second = client.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == expected("-created")[5:9]


@pytest.mark.parametrize("order", sorted(TICKET_ORDERS))
def test_a_page_costs_at_most_two_queries(api, agent, tickets, order):
    client = api.as_(agent)
    client.get("/api/v1/users/me/")  # the token's first use is recorded once
    url = f"/api/v1/tickets/?ordering={order}&page_size=3"
    while url:
        with CaptureQueriesContext(connection) as captured:
            body = client.get(url).json()
        # token and user, then one range of the index, or two when crossing to the next rank
        assert len(captured) <= 3, [q["sql"] for q in captured]
        url = body["next"]


def cursor_of(position) -> str:
    """A cursor as the links carry one, holding `position`."""
    text = position if isinstance(position, str) else json.dumps(position, separators=(",", ":"))
    query = urlencode({"p": text})
    return quote(base64.b64encode(query.encode()).decode())


@pytest.mark.parametrize(
    "query",
    [
        "ordering=title",
        "ordering=",
        f"ordering=priority&cursor={cursor_of(['-created', ['2026-01-01T00:00:00Z', 1]])}",
        f"cursor={cursor_of(['-created', ['yesterday', 1]])}",
        f"cursor={cursor_of(['-created', [1]])}",
        f"cursor={cursor_of({'a': 1})}",
        f"cursor={cursor_of('not json')}",
        "cursor=" + cursor_of(["-created", 5]),
    ],
)
def test_a_bad_order_or_cursor_is_a_400(api, agent, tickets, query):
    response = api.as_(agent).get(f"/api/v1/tickets/?{query}")
    assert response.status_code == 400, response.json()
    assert response.json()["type"] == "invalid"
