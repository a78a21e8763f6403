"""Reads of tickets: the one access helper and the queries the pages use."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from django.db.models import QuerySet
from django.http import Http404

from .models import MAX_ID, Ticket, describe_event, unseen_reply

logger = logging.getLogger("helpdesk.access")


def get_ticket_for(user, pk: int) -> Ticket:
    """The ticket with this id if `user` may see it; otherwise 404, exactly like a missing one."""
    if not isinstance(pk, int) or pk < 1 or pk > MAX_ID:
        raise Http404("No such ticket.")
    try:
        return Ticket.objects.visible_to(user).select_related("reporter", "assignee").get(pk=pk)
    except Ticket.DoesNotExist:
        # Missing, or someone else's: the same 404 either way, and a line in the log.
        logger.info("ticket %s refused to user=%s", pk, getattr(user, "pk", None) or "-")
        raise Http404("No such ticket.") from None


# What a list page reads of each ticket (ListRow, in this order): a ticket's description and the
# users' other fields (password hashes included) stay in the database.
LIST_FIELDS = (
    "pk",
    "title",
    "status",
    "priority",
    "last_activity_at",
    "first_response_at",
    "last_staff_reply_at",
    "reporter_seen_at",
    "reporter_id",
    "reporter__username",
    "assignee_id",
    "assignee__username",
)


class Person(NamedTuple):
    pk: int
    username: str


class ListRow(NamedTuple):
    """A ticket as a list page shows it (tickets.templatetags.ticket_html.ticket_row reads the
    same attributes of a Ticket): LIST_FIELDS, the people as Persons."""

    pk: int
    title: str
    status: str
    priority: str
    last_activity_at: datetime
    first_response_at: datetime | None
    last_staff_reply_at: datetime | None
    reporter_seen_at: datetime | None
    reporter_id: int
    reporter: Person
    assignee_id: int | None
    assignee: Person | None

    @property
    def has_unseen_reply(self) -> bool:
        return unseen_reply(self.last_staff_reply_at, self.reporter_seen_at)


def list_rows(tickets: QuerySet) -> list[ListRow]:
    """A page of a list's tickets (a slice of for_list()) as ListRows, with their reporters'
    and assignees' names, in one query: no model instances, which cost a list of 25 tickets
    with their people a tenth of its time."""
    rows = []
    for *ticket, reporter_id, reporter, assignee_id, assignee in tickets.values_list(*LIST_FIELDS):
        rows.append(
            ListRow(
                *ticket,
                reporter_id,
                Person(reporter_id, reporter),
                assignee_id,
                None if assignee_id is None else Person(assignee_id, assignee),
            )
        )
    return rows


class TimelineEntry(NamedTuple):
    created_at: datetime
    actor: str | None  # The actor's username; None for the system.
    description: str


def ticket_timeline(ticket: Ticket) -> list[TimelineEntry]:
    """A ticket's events, oldest first, as its page shows them, in one query: plain rows, not
    model instances."""
    rows = ticket.events.order_by("created_at", "pk").values_list(
        "created_at", "actor__username", "kind", "from_value", "to_value"
    )
    return [
        TimelineEntry(created_at, actor, describe_event(kind, from_value, to_value))
        for created_at, actor, kind, from_value, to_value in rows
    ]


def ticket_list_for(user, *, status: str = "", assignee: str = "", priority: str = "") -> QuerySet:
    """The list page's tickets. `status` is a status, "all", or "" for everything not closed.

    `assignee` (staff only) is "", "me" or "none".
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
    if priority:
        tickets = tickets.filter(priority=priority)
    return tickets.for_list()
