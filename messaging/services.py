"""Writes to the conversation."""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from tickets.models import Ticket

from .models import Message
from .notifications import notify_message


def message_send(
    *,
    ticket: Ticket,
    sender,
    content: str,
    is_internal: bool = False,
    client_token: uuid.UUID | None = None,
) -> Message:
    """Add a message (or a staff-only internal note) to a ticket's conversation.

    Staff may write on any ticket; the reporter on their own, never an internal note. The first
    public reply by staff other than the reporter sets `first_response_at`; a reporter's reply on
    a closed ticket reopens it. A repeated submit of the same form (same token) stores nothing
    new and returns the first message. A public message bumps the ticket's version, so a change
    made on a page opened before it is refused as stale; an internal note does not.
    """
    if not (sender.is_authenticated and sender.is_active):
        raise PermissionDenied("Sign in to write on a ticket.")
    is_staff = sender.is_staff
    if not is_staff and sender.pk != ticket.reporter_id:
        raise PermissionDenied("You may not write on this ticket.")
    if is_internal and not is_staff:
        raise PermissionDenied("Only staff may write internal notes.")
    content = (content or "").strip()

    with transaction.atomic():
        locked = ticket.lock()
        if client_token is not None:
            existing = Message.objects.filter(client_token=client_token).first()
            if existing is not None:
                if existing.ticket_id != locked.pk or existing.sender_id != sender.pk:
                    raise ValidationError("This form was already used; reload the page.")
                ticket._copy_state_from(locked)
                return existing

        is_reporter = sender.pk == locked.reporter_id
        staff_reply = is_staff and not is_reporter and not is_internal
        if is_internal:
            receiver = None
        elif staff_reply:
            receiver = locked.reporter
        else:
            receiver = locked.assignee
        now = timezone.now()
        message = Message(
            ticket=locked,
            sender=sender,
            receiver=receiver,
            content=content,
            is_internal=is_internal,
            created_at=now,
            client_token=client_token,
        )
        message.full_clean(exclude=["ticket", "sender", "receiver", "client_token"])
        message.save()

        # An internal note leaves the ticket as it is: no new version (a customer's open page
        # stays current, and learns nothing of the note), no activity, no reopen.
        if not is_internal:
            if is_reporter and locked.status == Ticket.Status.CLOSED:
                locked.update_status(Ticket.Status.OPEN, by=sender)
            fields = locked.touch(by=sender, at=now)
            locked.last_public_by = Ticket.Party.STAFF if staff_reply else Ticket.Party.CUSTOMER
            fields.append("last_public_by")
            if staff_reply:
                if locked.first_response_at is None:
                    locked.first_response_at = now
                    fields.append("first_response_at")
                locked.last_staff_reply_at = now
                fields.append("last_staff_reply_at")
            locked.save(update_fields=fields)
        notify_message(message)
        ticket._copy_state_from(locked)
    return message
