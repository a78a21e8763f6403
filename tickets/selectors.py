"""Reads of tickets: the one access helper and the queries the pages use."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from .caching import cache_delete, cache_get, cache_set
from .models import (
    MAX_ID,
    Category,
    Ticket,
    TicketEvent,
    TicketQuerySet,
    customer_replied,
    customer_status_class,
    customer_status_label,
    describe_event,
    unseen_reply,
    waiting_on_customer,
)

logger = logging.getLogger("helpdesk.access")

# The staff menus' agents and categories: read on every staff list, changed a few times a year.
# Kept in the cache for at most a minute; a change saved through Django (the admin, a service,
# a command) forgets them at once (TicketsConfig.ready), in every app server when the cache is
# Redis (REDIS_URL), in this process only with the local-memory default.
MENUS_CACHE_KEY = "tickets:menus"
MENUS_CACHE_SECONDS = 60


def staff_menus() -> dict[str, list[tuple[int, str]]]:
    """{"agents": [(id, username), ...], "categories": [(id, name), ...]}, by name: the active
    agents, and every category (retired ones too: their tickets stay in them). A cache server
    that does not answer: read from the database, as without a cache."""
    menus = cache_get(MENUS_CACHE_KEY, label="Staff menus")
    if menus is None:
        menus = {
            "agents": list(
                get_user_model().objects.staff().order_by("username").values_list("pk", "username")
            ),
            "categories": list(Category.objects.order_by("name").values_list("pk", "name")),
        }
        cache_set(MENUS_CACHE_KEY, menus, MENUS_CACHE_SECONDS, label="Staff menus")
    return menus


def forget_staff_menus(**kwargs) -> None:
    """A signal receiver: an agent or a category was saved or deleted. A cache server that does
    not answer fails no save (a login saves the user): what it holds expires within the minute."""
    cache_delete(MENUS_CACHE_KEY, label="Staff menus")


def get_ticket_for(
    user, pk: int, *, related: tuple[str, ...] = ("reporter", "assignee", "category")
) -> Ticket:
    """The ticket with this id if `user` may see it; otherwise 404, exactly like a missing one.
    `related`: the people and category read with it (a page that shows fewer joins fewer)."""
    if not isinstance(pk, int) or pk < 1 or pk > MAX_ID:
        raise Http404(_("No such ticket."))
    try:
        return (
            Ticket.objects.visible_to(user)
            .select_related(*related)
            .defer("search_vector")  # the search's own column: no page shows it
            .get(pk=pk)
        )
    except Ticket.DoesNotExist:
        # Missing, or someone else's: the same 404 either way, and a line in the log.
        logger.info("ticket %s refused to user=%s", pk, getattr(user, "pk", None) or "-")
        raise Http404(_("No such ticket.")) from None


def in_time_zone(rows: list[dict], *fields: str) -> list[dict]:
    """The rows' datetimes (`fields`, None left alone) in the current time zone, converted once
    for the page. A template converts every datetime it shows, looking the active time zone up
    each time: for a conversation or a list, most of what its dates cost. The templates show
    these rows' times inside {% localtime off %}; anywhere else they come out the same."""
    zone = timezone.get_current_timezone()
    for row in rows:
        for field in fields:
            if row[field] is not None:
                row[field] = row[field].astimezone(zone)
    return rows


def list_rows(tickets: QuerySet, *, viewer, extra: tuple[str, ...] = ()) -> list[dict]:
    """A page of a list's tickets (a slice of for_list()) as dicts named after what the list
    shows, with their reporters' and assignees' names, in one query, and the markers as
    `viewer` sees them: `new_reply` (their own ticket has a staff reply they have not opened);
    for staff, `awaiting_first_response` (not closed, no staff reply yet), `customer_replied`
    and `waiting_on_customer` (not closed, and who wrote the latest public message); `since`:
    how long ago its last activity was.

    Only the columns shown (and the ticket's `extra` ones: a search's snippets need the
    description), so the users' other fields (password hashes included) stay in the database. A
    new column is one more name here and a cell in templates/tickets/_list_row.html.
    """
    rows = list(
        tickets.values(
            *extra,
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
    # Each label in the reader's language once a request, not once a row (a lazy label is
    # translated again wherever it is shown). Staff read the internal status names; a customer
    # reads theirs (CUSTOMER_STATUS_LABELS).
    priority_labels = {value: str(label) for value, label in Ticket.Priority.choices}
    status_labels: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row["status"], row["last_public_by"])
        if key not in status_labels:
            status_labels[key] = (
                str(Ticket.Status(key[0]).label) if viewer.is_staff else customer_status_label(*key)
            )
        row["status_label"] = status_labels[key]
        row["status_class"] = key[0] if viewer.is_staff else customer_status_class(*key)
        row["priority_label"] = priority_labels.get(row["priority"], row["priority"])
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
    rows = in_time_zone(rows, "created_at", "last_activity_at")
    # How long ago, as of now: the row's own text (templates/tickets/_list_row.html is kept by
    # what it shows, and shows no clock).
    now = timezone.now()
    for row in rows:
        row["since"] = timesince(row["last_activity_at"], now)
    return rows


def ticket_timeline(ticket: Ticket, *, staff: bool = True) -> list[dict]:
    """A ticket's events, oldest first, as its page shows them, in one query: when
    (`created_at`), who (`actor_name`, None for the system) and what (`description`).
    Not `staff` (the customer): only what concerns them, the ticket opened for them, closed
    and reopened, a file of the conversation removed; never the staff's housekeeping
    (assignment, priority, category, tags, a note's files, bounces, the move to "active").
    customer_timeline adds the replies."""
    rows = list(
        ticket.events.order_by("created_at", "pk").values(
            "created_at", "kind", "from_value", "to_value", actor_name=F("actor__username")
        )
    )
    if not staff:
        # A ticket's events are tens, not thousands: chosen here rather than by a filter of
        # four alternatives that would be built anew on every page.
        rows = [row for row in rows if concerns_customer(row)]
    for row in rows:
        if staff:
            row["description"] = describe_event(row["kind"], row["from_value"], row["to_value"])
        else:
            row["description"] = describe_event_for_customer(
                row["kind"], row["from_value"], row["to_value"]
            )
    return in_time_zone(rows, "created_at")


def concerns_customer(event: dict) -> bool:
    """Whether the customer's timeline shows this event: the ticket opened for them, a file of
    the conversation removed (not a note's), the ticket closed or reopened."""
    kind = event["kind"]
    if kind == TicketEvent.Kind.OPENED_FOR:
        return True
    if kind == TicketEvent.Kind.FILE_REMOVED:
        return event["to_value"] != TicketEvent.FROM_NOTE
    return kind == TicketEvent.Kind.STATUS and Ticket.Status.CLOSED in (
        event["to_value"],
        event["from_value"],
    )


def describe_event_for_customer(kind: str, from_value: str, to_value: str) -> str:
    """An event of the customer's timeline in their words (after the actor's name)."""
    if kind == TicketEvent.Kind.STATUS:
        if to_value == Ticket.Status.CLOSED:
            return _("closed the ticket")
        return _("reopened the ticket")
    return describe_event(kind, from_value, to_value)


def customer_timeline(events: list[dict], conversation: list[dict]) -> list[dict]:
    """The customer's timeline: their events (ticket_timeline(staff=False)) and the replies
    of the conversation the page read already (no query), oldest first."""
    replies = [
        {
            "created_at": entry["created_at"],
            "kind": "reply",
            "actor_name": entry["sender_name"],
            "description": _("replied"),
        }
        for entry in conversation
        if not entry["is_internal"]
    ]
    return sorted([*events, *replies], key=lambda row: row["created_at"])


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
    """The list page's tickets. `status` is a status, "all", or "" for everything not closed
    (for a customer, also their closed tickets with a reply they have not seen).

    For staff: `assignee` is "", "me" or "none"; `category` a category's id; `waiting` is "",
    "customer" (waiting on the customer) or "replied" (the customer replied); `tag` a tag's
    name, in any case; `reporter` a customer's user id. `sort` is a key of TicketQuerySet.SORTS.
    """
    tickets = Ticket.objects.visible_to(user)
    if status == "all":
        pass
    elif status:
        tickets = tickets.filter(status=status)
    elif user.is_staff:
        tickets = tickets.not_closed()
    else:
        # A customer's default: also the closed tickets with a reply they have not read.
        tickets = tickets.for_reporter_default()
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
    by name, from the staff menus (cached: staff_menus)."""
    menus = staff_menus()
    return (
        [(str(pk), name) for pk, name in menus["agents"]],
        [(str(pk), name) for pk, name in menus["categories"]],
    )
