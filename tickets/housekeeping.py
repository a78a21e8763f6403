"""Scheduled clean-up of the conversation: closing tickets that wait on a customer who went quiet.

Run by `manage.py close_stale_tickets --days N` (from cron or a systemd timer). The closes are
made by the system (`Ticket.update_status(..., by=None)`: an event with no actor); the message
that explains them needs a person as sender (Message.sender is required), so it is written as
the ticket's assignee, or else the first active superuser.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.locale import for_reader
from messaging.models import Message
from messaging.services import reply_and_close

from .models import Ticket

User = get_user_model()

# What ticket.outcome says after close_stale_tickets.
CLOSED = "closed"
WOULD_CLOSE = "would close"
SKIPPED_NO_SENDER = "skipped: no active staff member to send the closing message as"
SKIPPED_CHANGED = "skipped: the ticket changed while it was being closed"


def closing_message(days: int) -> str:
    """The system's last word on a stale ticket, in the active language (the reporter's: see
    close_stale_tickets)."""
    return ngettext(
        "We have closed this ticket because we have had no reply for %(days)d day. "
        "If you still need help, just reply here: your reply reopens the ticket.",
        "We have closed this ticket because we have had no reply for %(days)d days. "
        "If you still need help, just reply here: your reply reopens the ticket.",
        days,
    ) % {"days": days}


def stale_tickets(*, days: int, now: datetime | None = None) -> QuerySet[Ticket]:
    """Active tickets waiting on their reporter for more than `days` days, in one query.

    Waiting on the reporter: the last public message is a staff reply (from someone other
    than the reporter) older than the cutoff. Only staff may write on someone else's ticket
    (message_send), so "not the reporter" means staff when they wrote it, including an agent
    who has left the team since; their reply still waits on the customer. Each ticket carries
    `last_public_at` and `last_public_sender_id` (annotations), oldest ticket first.
    """
    try:
        cutoff = (now or timezone.now()) - timedelta(days=days)
    except OverflowError:
        # More days than the calendar has before now: nothing has waited that long.
        return Ticket.objects.none()
    last_public = Message.objects.filter(ticket=OuterRef("pk"), is_internal=False).order_by(
        "-created_at", "-pk"
    )
    return (
        Ticket.objects.filter(status=Ticket.Status.ACTIVE)
        .annotate(
            last_public_at=Subquery(last_public.values("created_at")[:1]),
            last_public_sender_id=Subquery(last_public.values("sender")[:1]),
        )
        .filter(last_public_at__lt=cutoff)
        .exclude(last_public_sender_id=F("reporter_id"))
        .select_related("reporter", "assignee")
        .order_by("created_at", "pk")
    )


def close_stale_tickets(
    *, days: int, now: datetime | None = None, dry_run: bool = False
) -> list[Ticket]:
    """Close the tickets that have waited on their reporter for more than `days` days.

    For each stale ticket (see stale_tickets), in its own transaction: the system closes it,
    and a public message tells the reporter why and that a reply reopens it (one email: the
    message's).
    The message is sent as the assignee when they are active staff (and not the reporter),
    else as the first active superuser; with neither, the ticket is skipped. A ticket that got a
    new public message or a status change since it was selected is skipped too.

    Returns every stale ticket found, each with `outcome` set to CLOSED, WOULD_CLOSE (dry run)
    or one of the SKIPPED_* reasons, and `closing_sender` (the user who would send, or None).
    Raises ValidationError when `days` is less than 1.
    """
    if days < 1:
        raise ValidationError(_("The number of days must be 1 or more."), code="invalid_days")
    tickets = list(stale_tickets(days=days, now=now))
    fallback = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    for ticket in tickets:
        # Written once, in its reader's language (read with the ticket: no query).
        with for_reader(ticket.reporter):
            content = closing_message(days)
        ticket.closing_sender = _closing_sender(ticket, fallback)
        if ticket.closing_sender is None:
            ticket.outcome = SKIPPED_NO_SENDER
        elif dry_run:
            ticket.outcome = WOULD_CLOSE
        else:
            ticket.outcome = _close(ticket, sender=ticket.closing_sender, content=content)
    return tickets


def _closing_sender(ticket: Ticket, fallback):
    assignee = ticket.assignee
    if (
        assignee is not None
        and assignee.is_active
        and assignee.is_staff
        and assignee.pk != ticket.reporter_id
    ):
        return assignee
    if fallback is not None and fallback.pk != ticket.reporter_id:
        return fallback
    return None


def _close(ticket: Ticket, *, sender, content: str) -> str:
    with transaction.atomic():
        locked = ticket.lock()
        latest = (
            Message.objects.filter(ticket=locked, is_internal=False)
            .order_by("-created_at", "-pk")
            .values_list("created_at", flat=True)
            .first()
        )
        if locked.status != Ticket.Status.ACTIVE or latest != ticket.last_public_at:
            return SKIPPED_CHANGED
        # Closed by the system; the message says why, and its email is the only one.
        reply_and_close(ticket=locked, closed_by=None, sender=sender, content=content)
        ticket._copy_state_from(locked)
    return CLOSED
