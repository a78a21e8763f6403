"""Writes to the conversation: messages and their files."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_create, ticket_open_for

from . import attachments
from .attachments import CheckedFile
from .models import Attachment, Message
from .notifications import notify_message

Upload = IO[bytes] | CheckedFile


def message_send(
    *,
    ticket: Ticket,
    sender,
    content: str,
    is_internal: bool = False,
    client_token: uuid.UUID | None = None,
    files: Sequence[Upload] = (),
) -> Message:
    """Add a message (or a staff-only internal note) to a ticket's conversation, with `files`
    (uploads, or files check_files already checked), all or nothing.

    Staff may write on any ticket; the reporter on their own, never an internal note. The first
    public reply by staff other than the reporter sets `first_response_at`; a reporter's reply on
    a closed ticket reopens it. A repeated submit of the same form (same token) stores nothing
    new and returns the first message. A public message bumps the ticket's version, so a change
    made on a page opened before it is refused as stale; an internal note does not.
    """
    if not (sender.is_authenticated and sender.is_active):
        raise PermissionDenied(_("Sign in to write on a ticket."))
    is_staff = sender.is_staff
    if not is_staff and sender.pk != ticket.reporter_id:
        raise PermissionDenied(_("You may not write on this ticket."))
    if is_internal and not is_staff:
        raise PermissionDenied(_("Only staff may write internal notes."))
    content = (content or "").strip()
    # Every file is read and checked before anything is written.
    checked = check_files(files)

    with transaction.atomic():
        locked = ticket.lock()
        if client_token is not None:
            existing = Message.objects.filter(client_token=client_token).first()
            if existing is not None:
                if existing.ticket_id != locked.pk or existing.sender_id != sender.pk:
                    raise ValidationError(_("This form was already used; reload the page."))
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
        # Not blank is the field's own rule too: no query for the check constraint.
        message.full_clean(
            exclude=["ticket", "sender", "receiver", "client_token"], validate_constraints=False
        )
        message.save()
        for upload in checked:
            attachment_add(ticket=locked, message=message, upload=upload, by=sender)

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


def reply_and_close(*, ticket: Ticket, closed_by, is_internal: bool = False, **message) -> Message:
    """A message (message_send's arguments) and the ticket closed by `closed_by` (None: the
    system), as one change: a refused message closes nothing. A public message is the
    reporter's news of the close: the ticket is closed first, without an email of its own, so
    the message's email shows it closed (one email, not two). After an internal note, which
    tells the reporter nothing, the close emails them as any close does. A ticket already
    closed stays as it is (no second event)."""
    with transaction.atomic():
        if not is_internal:
            ticket.update_status(Ticket.Status.CLOSED, by=closed_by, notify=False)
        sent = message_send(ticket=ticket, is_internal=is_internal, **message)
        if is_internal:
            ticket.update_status(Ticket.Status.CLOSED, by=closed_by)
    return sent


def check_files(files: Sequence[Upload]) -> list[CheckedFile]:
    """Each upload read and checked (messaging.attachments.check_file): at most
    ATTACHMENT_MAX_FILES, each within the size limit and of an allowed type. Raises one
    ValidationError for the field "files" listing every refusal."""
    if len(files) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError({"files": [attachments.too_many(len(files))]})
    checked, refused = [], []
    for upload in files:
        if isinstance(upload, CheckedFile):
            checked.append(upload)
            continue
        try:
            checked.append(attachments.check_file(upload))
        except ValidationError as exc:
            refused.extend(exc.error_list)
    if refused:
        raise ValidationError({"files": refused})
    return checked


def attachment_add(
    *, ticket: Ticket, message: Message | None, upload: Upload, by, uploaded_at=None
) -> Attachment:
    """Store one file on `message` (None: on the ticket, as reported) and record it.

    `by` must be the message's sender (or, for the ticket's own files, its reporter or staff),
    and an internal note's files are as internal as the note. The file is checked first (type
    from its bytes, size) unless it is a CheckedFile already, and refused when the message
    already has ATTACHMENT_MAX_FILES. Runs in a transaction: when it, or the caller's, is rolled
    back, the stored bytes are deleted again (no orphaned files).
    """
    if message is not None and (message.sender_id != by.pk or message.ticket_id != ticket.pk):
        raise PermissionDenied(_("Files go on your own messages only."))
    if message is None and not (by.is_staff or by.pk == ticket.reporter_id):
        raise PermissionDenied(_("You may not add files to this ticket."))
    checked = upload if isinstance(upload, CheckedFile) else check_files([upload])[0]
    with transaction.atomic():
        present = Attachment.objects.filter(ticket=ticket, message=message).count()
        if present >= settings.ATTACHMENT_MAX_FILES:
            raise ValidationError({"files": [attachments.too_many(present + 1)]})
        attachment = Attachment(
            ticket=ticket,
            message=message,
            name=checked.name,
            size=checked.size,
            declared_type=checked.declared_type,
            sniffed_type=checked.sniffed_type,
            sha256=checked.sha256,
            uploaded_by=by,
            uploaded_at=uploaded_at or (message.created_at if message else timezone.now()),
        )
        attachment.full_clean(
            exclude=["ticket", "message", "uploaded_by", "storage_name"], validate_constraints=False
        )
        attachment.storage_name = attachments.store(checked)
        attachment.save()
        mark_has_files(ticket)
    return attachment


def mark_has_files(ticket: Ticket) -> None:
    """Record that `ticket` has files (Ticket.has_files: the pages read files only then)."""
    if not ticket.has_files:
        Ticket.objects.filter(pk=ticket.pk).update(has_files=True)
        ticket.has_files = True


def attachment_remove(*, attachment: Attachment, by) -> TicketEvent | None:
    """Remove a file (staff only): its bytes are deleted once this commits, the row stays with
    who removed it and when (the conversation says so in its place), and the ticket's timeline
    records it. None when it was removed already."""
    if not (by.is_authenticated and by.is_active and by.is_staff):
        raise PermissionDenied(_("Only staff may remove files."))
    with transaction.atomic():
        attachment.ticket.lock()  # one change to a ticket's conversation at a time
        # The attachment's row only: PostgreSQL locks no nullable side of an outer join.
        locked = (
            Attachment.objects.select_for_update(of=("self",))
            .select_related("message")
            .get(pk=attachment.pk)
        )
        if locked.is_removed:
            return None
        stored, now = locked.storage_name, timezone.now()
        locked.storage_name, locked.removed_by, locked.removed_at = "", by, now
        locked.save(update_fields=["storage_name", "removed_by", "removed_at"])
        internal = locked.message is not None and locked.message.is_internal
        event = TicketEvent.objects.create(
            ticket_id=locked.ticket_id,
            actor=by,
            kind=TicketEvent.Kind.FILE_REMOVED,
            from_value=locked.name[:150],
            to_value=TicketEvent.FROM_NOTE if internal else "",
            created_at=now,
        )
        attachments.delete_after_commit([stored])
    for name in ("storage_name", "removed_by", "removed_at"):
        setattr(attachment, name, getattr(locked, name))
    return event


def ticket_create_with_files(*, files: Sequence[Upload] = (), **fields) -> Ticket:
    """tickets.services.ticket_create, with the reporter's `files` on the new ticket, all or
    nothing. A repeated submit (same client token) returns the first ticket and stores no file
    a second time."""
    checked = check_files(files)
    with transaction.atomic():
        ticket = ticket_create(**fields)
        _add_ticket_files(ticket, checked, by=fields["reporter"])
    return ticket


def ticket_open_for_with_files(*, files: Sequence[Upload] = (), **fields) -> Ticket:
    """tickets.services.ticket_open_for, with the agent's `files` on the new ticket, all or
    nothing (the customer's account too, when one is made), as ticket_create_with_files."""
    checked = check_files(files)
    with transaction.atomic():
        ticket = ticket_open_for(**fields)
        _add_ticket_files(ticket, checked, by=fields["agent"])
    return ticket


def _add_ticket_files(ticket: Ticket, checked: list[CheckedFile], *, by) -> None:
    # A repeated submit returned the first ticket: its files are stored already.
    if checked and not Attachment.objects.filter(ticket=ticket, message=None).exists():
        for upload in checked:
            attachment_add(ticket=ticket, message=None, upload=upload, by=by)


def attachments_delete_with(tickets: QuerySet[Ticket]) -> None:
    """Before these tickets are deleted (their attachment rows go with them): delete the stored
    files too, once the deletion commits."""
    attachments.delete_after_commit(
        list(
            Attachment.objects.filter(ticket__in=tickets)
            .stored()
            .values_list("storage_name", flat=True)
        )
    )
