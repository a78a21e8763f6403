"""The ticket list's category filter and its created and updated ranges, with valid values:
exactly the tickets they name come back, inside the list's visibility (a customer's own)."""

from datetime import UTC, datetime

import pytest

from tickets.models import Category, Ticket

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def desk(customer, other_customer, make_ticket) -> dict[str, Ticket]:
    """Four tickets with known categories and times (created, last changed): customer's
    january, february and march, and the other customer's in february."""
    printers = Category.objects.create(name="Printers")
    network = Category.objects.create(name="Network")
    made = {
        "january": (customer, printers, "2026-01-10T08:00Z", "2026-03-01T12:00Z"),
        "february": (customer, network, "2026-02-10T00:00Z", "2026-02-15T09:30Z"),
        "march": (customer, None, "2026-03-10T17:45Z", "2026-03-20T10:00Z"),
        "theirs": (other_customer, printers, "2026-02-10T00:00Z", "2026-03-05T00:00Z"),
    }
    tickets = {}
    for name, (reporter, category, created, modified) in made.items():
        ticket = make_ticket(reporter, category=category)
        # Times set in SQL: the services stamp "now", and the ranges need known instants.
        Ticket.objects.filter(pk=ticket.pk).update(created_at=at(created), modified_at=at(modified))
        tickets[name] = ticket
    tickets["printers"], tickets["network"] = printers, network
    return tickets


def listed(client, query: str) -> set[int]:
    response = client.get(f"{TICKETS}?{query}")
    assert response.status_code == 200, response.content
    assert response.json()["next"] is None  # all on one page: the set is the whole answer
    return {row["id"] for row in response.json()["results"]}


def ids(desk: dict, *names: str) -> set[int]:
    return {desk[name].pk for name in names}


def test_category_filter_returns_that_categorys_tickets(api, agent, customer, desk):
    staff, own = api.as_(agent), type(api)().as_(customer)
    printers, network = desk["printers"].pk, desk["network"].pk
    empty = Category.objects.create(name="Nothing here").pk

    assert listed(staff, f"category={printers}") == ids(desk, "january", "theirs")
    assert listed(staff, f"category={network}") == ids(desk, "february")
    assert listed(staff, f"category={empty}") == set()
    assert listed(staff, "category=999999") == set()  # no such category: nothing, not an error
    # A customer's list is their own tickets, whatever the filter names.
    assert listed(own, f"category={printers}") == ids(desk, "january")
    assert listed(own, f"category={network}") == ids(desk, "february")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # After: from that instant on (included); before: up to it (not included).
        ("created_after=2026-02-10T00:00Z", {"february", "march", "theirs"}),
        ("created_after=2026-02-10T00:00:01Z", {"march"}),
        ("created_before=2026-02-10T00:00Z", {"january"}),
        ("created_before=2026-02-10T00:00:01Z", {"january", "february", "theirs"}),
        (
            "created_after=2026-01-01T00:00Z&created_before=2026-03-01T00:00Z",
            {"january", "february", "theirs"},
        ),
        ("created_after=2026-03-11T00:00Z", set()),
        # An offset names the same instant as UTC does: 18:45+01:00 is 17:45Z.
        ("created_after=2026-03-10T18:45%2B01:00", {"march"}),
        ("created_before=2026-03-10T18:45%2B01:00", {"january", "february", "theirs"}),
        ("updated_after=2026-03-01T12:00Z", {"january", "march", "theirs"}),
        ("updated_before=2026-03-01T12:00Z", {"february"}),
        ("updated_after=2026-03-01T12:00:01Z", {"march", "theirs"}),
        (
            "updated_after=2026-02-01T00:00Z&updated_before=2026-03-02T00:00Z",
            {"january", "february"},
        ),
        ("updated_after=2026-03-20T05:00-05:00", {"march"}),  # 10:00Z, included
        ("updated_before=2026-02-15T09:30Z", set()),
        # Ranges of both kinds and a category at once: each narrows the others.
        ("created_before=2026-02-11T00:00Z&updated_after=2026-03-01T00:00Z", {"january", "theirs"}),
        ("category={printers}&updated_before=2026-03-02T00:00Z", {"january"}),
    ],
)
def test_time_ranges_return_exactly_the_tickets_inside(api, agent, desk, query, expected):
    query = query.format(printers=desk["printers"].pk)
    assert listed(api.as_(agent), query) == ids(desk, *expected)


def test_a_customers_ranges_are_inside_their_own_tickets(api, customer, desk):
    own = api.as_(customer)
    assert listed(own, "created_after=2026-02-10T00:00Z") == ids(desk, "february", "march")
    assert listed(own, "updated_after=2026-03-01T00:00Z") == ids(desk, "january", "march")
