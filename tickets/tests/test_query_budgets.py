"""Ticket pages cost a fixed number of queries, whatever the number of tickets or messages.

Each page is measured at a small and a large size of data: the counts must be equal (an N+1
adds queries per row) and within a budget (so a new fixed query is a conscious decision).
"""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import create_user
from messaging.tests.file_helpers import pdf_upload, png_upload
from tickets.models import Category, Ticket
from tickets.selectors import staff_menus
from tickets.services import ticket_assign, ticket_set_priority, ticket_set_tags

from .page_helpers import client_for

SMALL, LARGE = 5, 50

# Session, user, count, rows: the list pages.
LIST_BUDGET = 4
# The same: the categories (filter and bulk action) and the agents (bulk action) come from the
# cache (tickets.selectors.staff_menus); two more queries when it has none.
STAFF_LIST_BUDGET = 4
# Session, user, ticket, the "seen" update, messages, their files (when the ticket has any:
# Ticket.has_files), events.
CUSTOMER_DETAIL_BUDGET = 7
# Session, user, ticket, messages, their files, events, the customer panel's other tickets
# (staff see no "seen" update; the triage panel's agents and categories and who else is viewing
# are in the cache; canned replies are loaded when the picker opens).
STAFF_DETAIL_BUDGET = 7


def measure(client, path: str) -> tuple[int, object]:
    """The number of queries one GET of `path` makes, and its response."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), response


@pytest.fixture
def add_tickets(make_ticket, make_message, agent, other_agent):
    """Varied tickets: some assigned, some answered (the "new reply" marker), all priorities."""
    priorities = itertools.cycle(Ticket.Priority.values)

    def add(count: int, reporters: list) -> None:
        for number in range(count):
            ticket = make_ticket(reporters[number % len(reporters)], priority=next(priorities))
            if number % 3 == 0:
                ticket_assign(ticket=ticket, assignee=(agent, other_agent)[number % 2], by=agent)
            if number % 2 == 0:
                make_message(ticket, agent, "We are on it.")

    return add


@pytest.fixture
def add_conversation(make_message, customer, agent, other_agent):
    """Messages from everyone, notes, and events; ends with an unseen staff reply."""
    # Starts after "normal", so every step is a real change with its own event.
    priorities = itertools.cycle(["high", "urgent", "low", "normal"])

    def add(ticket: Ticket, count: int) -> None:
        senders = [
            (customer, False),
            (other_agent, True),
            (agent, False),
        ]
        for number in range(count):
            sender, internal = senders[(number - count) % len(senders)]
            # Every other message carries files (a picture shown as a preview, a download).
            files = [png_upload(), pdf_upload()] if number % 2 else []
            make_message(
                ticket,
                sender,
                f"Message {number}\nwith two lines",
                is_internal=internal,
                files=files,
            )
            if number % 5 == 0:
                ticket_set_priority(ticket=ticket, priority=next(priorities), by=agent)

    return add


# "": the default list, which also keeps closed tickets with a reply the customer has not seen.
@pytest.mark.parametrize("query", ["?status=all", ""])
def test_my_tickets_page(
    query, settings, customer, agent, add_tickets, django_assert_max_num_queries
):
    settings.TICKETS_PER_PAGE = LARGE  # the whole list on one page, so every row is rendered
    client = client_for(customer)

    add_tickets(SMALL, [customer])
    small, response = measure(client, "/tickets/" + query)
    assert len(response.context["tickets"]) == SMALL
    add_tickets(LARGE - SMALL, [customer])
    # Closed with an unread reply: still listed by default.
    for ticket in Ticket.objects.exclude(last_staff_reply_at=None)[:5]:
        ticket.update_status("closed", by=agent)
    with django_assert_max_num_queries(LIST_BUDGET):
        large, response = measure(client, "/tickets/" + query)

    assert len(response.context["tickets"]) == LARGE
    assert "New reply" in response.content.decode()
    assert small == large


@pytest.mark.parametrize("query", ["?status=all", "", "?assignee=none", "?assignee=me"])
def test_staff_list_page(
    query, settings, agent, customer, other_customer, add_tickets, django_assert_max_num_queries
):
    settings.TICKETS_PER_PAGE = LARGE
    client = client_for(agent)

    add_tickets(SMALL, [customer, other_customer])
    assert measure(client, "/tickets/" + query)[0] == STAFF_LIST_BUDGET + 2  # the menus, read
    small, response = measure(client, "/tickets/" + query)
    shown_small = len(response.context["tickets"])
    add_tickets(LARGE - SMALL, [customer, other_customer])
    with django_assert_max_num_queries(STAFF_LIST_BUDGET):
        large, response = measure(client, "/tickets/" + query)

    assert len(response.context["tickets"]) > shown_small > 0
    if query == "?status=all":
        assert len(response.context["tickets"]) == LARGE
    assert small == large


@pytest.mark.parametrize(
    ("viewer", "budget"),
    [("customer", CUSTOMER_DETAIL_BUDGET), ("agent", STAFF_DETAIL_BUDGET)],
)
def test_ticket_detail_page(
    viewer,
    budget,
    request,
    customer,
    other_agent,
    add_tickets,
    add_conversation,
    make_ticket,
    django_assert_max_num_queries,
):
    ticket = make_ticket(customer)
    ticket_assign(ticket=ticket, assignee=other_agent, by=other_agent)
    client = client_for(request.getfixturevalue(viewer))
    path = f"/tickets/{ticket.pk}/"

    # Each size ends with a staff reply the reporter has not seen, so both views mark it seen.
    add_tickets(SMALL, [customer])
    add_conversation(ticket, SMALL)
    staff_menus()  # cached, as on a running site (tickets/tests/test_staff_menus.py)
    small, response = measure(client, path)
    shown_small = len(response.context["conversation"])
    add_tickets(LARGE - SMALL, [customer])
    add_conversation(ticket, LARGE - SMALL)
    # The staff side's choices and chips grow too: agents, categories, tags.
    for n in range(LARGE):
        Category.objects.create(name=f"Category {n}")
    for n in range(5):
        create_user(f"extra_agent_{n}", staff=True)
    ticket_set_tags(ticket=ticket, names=[f"tag{n}" for n in range(10)], by=other_agent)
    staff_menus()
    with django_assert_max_num_queries(budget):
        large, response = measure(client, path)

    if viewer == "agent":
        assert len(response.context["customer_tickets"]) == 5
        selects = {field["name"]: field for field in response.context["triage"]["selects"]}
        assert len(selects["category"]["options"]) == LARGE + 1
        assert len(selects["assignee"]["options"]) >= 8
    conversation = list(response.context["conversation"])
    assert sum(len(entry["files"]) for entry in conversation) >= LARGE // 2
    if viewer == "agent":
        assert len(conversation) == LARGE
    else:
        assert len(conversation) == ticket.messages.filter(is_internal=False).count()
    assert len(conversation) > shown_small
    assert len(response.context["events"]) > 5
    assert small == large


@pytest.mark.parametrize("viewer", ["customer", "agent"])
def test_a_ticket_without_files_costs_one_query_less(
    viewer, request, customer, agent, make_ticket, make_message
):
    plain, with_file = make_ticket(customer), make_ticket(customer)
    for ticket in (plain, with_file):
        make_message(ticket, agent, "Here is how.")
    make_message(with_file, customer, "The log.", files=[pdf_upload()])
    client = client_for(request.getfixturevalue(viewer))

    _, response = measure(client, f"/tickets/{plain.pk}/")
    assert not any(entry["files"] for entry in response.context["conversation"])
    measure(client, f"/tickets/{with_file.pk}/")  # marks the reply seen, like the first one
    with_files, response = measure(client, f"/tickets/{with_file.pk}/")
    assert [len(entry["files"]) for entry in response.context["conversation"]] == [0, 1]
    measure(client, f"/tickets/{plain.pk}/")
    assert measure(client, f"/tickets/{plain.pk}/")[0] == with_files - 1
