"""Reads of tickets: the one access helper and the queries the pages use."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet, Value
from django.http import Http404

from .models import (
    MAX_ID,
    Category,
    Ticket,
    TicketEvent,
    TicketQuerySet,
    customer_replied,
    describe_event,
    unseen_reply,
    waiting_on_customer,
)

logger = logging.getLogger("helpdesk.access")


def get_ticket_for(user, pk: int) -> Ticket:
    """The ticket with this id if `user` may see it; otherwise 404, exactly like a missing one."""
    if not isinstance(pk, int) or pk < 1 or pk > MAX_ID:
        raise Http404("No such ticket.")
    try:
        return (
            Ticket.objects.visible_to(user)
            .select_related("reporter", "assignee", "category")
            .get(pk=pk)
        )
    except Ticket.DoesNotExist:
        # Missing, or someone else's: the same 404 either way, and a line in the log.
        logger.info("ticket %s refused to user=%s", pk, getattr(user, "pk", None) or "-")
        raise Http404("No such ticket.") from None


def list_rows(tickets: QuerySet, *, viewer) -> list[dict]:
    """A page of a list's tickets (a slice of for_list()) as dicts named after what the list
    shows, with their reporters' and assignees' names, in one query, and the markers as
    `viewer` sees them: `new_reply` (their own ticket has a staff reply they have not opened);
    for staff, `awaiting_first_response` (not closed, no staff reply yet), `customer_replied`
    and `waiting_on_customer` (not closed, and who wrote the latest public message).

    Only the columns shown, so a ticket's description and the users' other fields (password
    hashes included) stay in the database. A new column is one more name here and a cell in
    templates/tickets/list.html.
    """
    rows = list(
        tickets.values(
            "pk",
            "title",
            "status",
            "priority",
            "created_at",
            "last_activity_at",
            "first_response_at",
            "last_staff_reply_at",
            "reporter_seen_at",
            "last_public_by",
            "tag_names",
            "reporter_id",
            "assignee_id",
            reporter_name=F("reporter__username"),
            assignee_name=F("assignee__username"),
            category_name=F("category__name"),
        )
    )
    for row in rows:
        row["new_reply"] = row["reporter_id"] == viewer.pk and unseen_reply(
            row["last_staff_reply_at"], row["reporter_seen_at"]
        )
        staff = viewer.is_staff
        row["awaiting_first_response"] = (
            staff and row["first_response_at"] is None and row["status"] != "closed"
        )
        row["customer_replied"] = staff and customer_replied(
            row["status"], row["last_public_by"], row["last_staff_reply_at"]
        )
        row["waiting_on_customer"] = staff and waiting_on_customer(
            row["status"], row["last_public_by"]
        )
    return rows


def ticket_timeline(ticket: Ticket, *, staff: bool = True) -> list[dict]:
    """A ticket's events, oldest first, as its page shows them, in one query: when
    (`created_at`), who (`actor_name`, None for the system) and what (`description`).
    Not `staff`: without tag events (tags are the staff's own) or the removal of an internal
    note's file."""
    events = ticket.events.all()
    if not staff:
        events = events.exclude(kind=TicketEvent.Kind.TAG).exclude(
            kind=TicketEvent.Kind.FILE_REMOVED, to_value=TicketEvent.FROM_NOTE
        )
    rows = list(
        events.order_by("created_at", "pk").values(
            "created_at", "kind", "from_value", "to_value", actor_name=F("actor__username")
        )
    )
    for row in rows:
        row["description"] = describe_event(row["kind"], row["from_value"], row["to_value"])
    return rows


def ticket_list_for(
    user,
    *,
    status: str = "",
    assignee: str = "",
    priority: str = "",
    category: str = "",
    waiting: str = "",
    tag: str = "",
    reporter: int | None = None,
    sort: str = TicketQuerySet.DEFAULT_SORT,
) -> QuerySet:
    """The list page's tickets. `status` is a status, "all", or "" for everything not closed.

    For staff: `assignee` is "", "me" or "none"; `category` a category's id; `waiting` is "",
    "customer" (waiting on the customer) or "replied" (the customer replied); `tag` a tag's
    name, in any case; `reporter` a customer's user id. `sort` is a key of TicketQuerySet.SORTS.
    """
    tickets = Ticket.objects.visible_to(user)
    if status == "all":
        pass
    elif status:
        tickets = tickets.filter(status=status)
    else:
        tickets = tickets.not_closed()
    if user.is_staff:
        if assignee == "me":
            tickets = tickets.for_agent(user)
        elif assignee == "none":
            tickets = tickets.unassigned()
        if waiting == "customer":
            tickets = tickets.waiting_on_customer()
        elif waiting == "replied":
            tickets = tickets.customer_replied()
        if tag:
            tickets = tickets.filter(tags__name__iexact=tag)
        if reporter:
            tickets = tickets.filter(reporter_id=reporter)
    if priority:
        tickets = tickets.filter(priority=priority)
    if category:
        tickets = tickets.filter(category_id=category)
    return tickets.for_list(sort or TicketQuerySet.DEFAULT_SORT)


# The most suggestions the customer box shows: enough to pick from, few enough to read.
CUSTOMER_SUGGESTIONS = 10


def customer_suggestions(text: str) -> list[dict]:
    """Customers (active, not staff) whose username, email address or name begins with `text`,
    for the staff's customer box: at most CUSTOMER_SUGGESTIONS rows of what it shows, in one
    query. Nothing for text no account could match (empty, too long, a NUL byte)."""
    text = (text or "").strip()
    if not text or len(text) > 254 or "\x00" in text:
        return []
    return list(
        get_user_model()
        .objects.customers()
        .starting_with(text)
        .order_by("username")
        .values("username", "email", "first_name", "last_name")[:CUSTOMER_SUGGESTIONS]
    )


def other_tickets_of(ticket: Ticket, limit: int = 5) -> list[dict]:
    """The customer panel: the reporter's other tickets, the most recently active first, at most
    `limit`, in one query (`pk`, `title`, `status`)."""
    return list(
        Ticket.objects.filter(reporter_id=ticket.reporter_id)
        .exclude(pk=ticket.pk)
        .order_by("-last_activity_at", "-pk")
        .values("pk", "title", "status")[:limit]
    )


def triage_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The triage panel's agents (active staff) and categories (every one: a retired one stays
    on its tickets, and the service refuses giving it to others), as (id, name) strings sorted
    by name, in one query (a UNION of the two)."""
    agents = (
        get_user_model()
        .objects.staff()
        .annotate(kind=Value(0), label=F("username"))
        .order_by()  # the models' own orders: not allowed inside a UNION
        .values_list("kind", "pk", "label")
    )
    categories = (
        Category.objects.annotate(kind=Value(1), label=F("name"))
        .order_by()
        .values_list("kind", "pk", "label")
    )
    rows = agents.union(categories, all=True).order_by("kind", "label", "pk")
    grouped: tuple[list, list] = ([], [])
    for kind, pk, label in rows:
        grouped[kind].append((str(pk), label))
    return grouped
