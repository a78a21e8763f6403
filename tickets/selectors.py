"""Reads of tickets: the one access helper and the queries the pages use."""

from __future__ import annotations

import logging

from django.db.models import QuerySet
from django.http import Http404

from .models import MAX_ID, Ticket, TicketEvent

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


def ticket_events(ticket: Ticket) -> QuerySet[TicketEvent]:
    """A ticket's timeline, oldest first, with what it shows of each actor (the name)."""
    return (
        ticket.events.select_related("actor")
        .only("ticket", "kind", "from_value", "to_value", "created_at", "actor__username")
        .order_by("created_at", "pk")
    )


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
