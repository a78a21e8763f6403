"""Reads of the conversation's files, for the ticket pages and the download view."""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.http import Http404
from django.utils.translation import gettext as _

from tickets.models import MAX_ID, Ticket
from tickets.selectors import in_time_zone

from .attachments import INLINE_TYPES
from .models import Attachment, InboundEmail, Message

logger = logging.getLogger("helpdesk.access")


def files_by_message(ticket: Ticket, viewer) -> dict[int | None, list[dict]]:
    """Every file on `ticket` that `viewer` may see (None: every file, for the admin, which only
    staff reach), in one query, oldest first, grouped by the
    id of their message (None: sent with the ticket when it was reported). Each a dict of what
    the pages show: `pk`, `name`, `size`, `sniffed_type`, `preview` (a raster image, shown
    small), and for a removed one `removed_at` and `removed_by_name`."""
    files = Attachment.objects.filter(ticket=ticket)
    if viewer is not None:
        files = files.visible_to(viewer)
    rows = files.order_by("uploaded_at", "pk").values(
        "pk",
        "message_id",
        "name",
        "size",
        "sniffed_type",
        "removed_at",
        removed_by_name=F("removed_by__username"),
        preview=ExpressionWrapper(Q(sniffed_type__in=INLINE_TYPES), output_field=BooleanField()),
    )
    grouped: dict[int | None, list[dict]] = defaultdict(list)
    for row in in_time_zone(list(rows), "removed_at"):
        grouped[row["message_id"]].append(row)
    return dict(grouped)


def with_files(entries: list[dict], files: dict[int | None, list[dict]]) -> list[dict]:
    """The conversation's rows (MessageQuerySet.entries()), each with its `files`."""
    for entry in entries:
        entry["files"] = files.get(entry["pk"], [])
    return entries


def attachment_for(viewer, ticket: Ticket, attachment_id: int) -> Attachment:
    """The file with this id on `ticket` (which the caller fetched with get_ticket_for) if
    `viewer` may have it and its bytes are still kept; otherwise 404, as for a missing one: an
    internal note's file for a customer, another ticket's file, a removed file."""
    if not isinstance(attachment_id, int) or not 1 <= attachment_id <= MAX_ID:
        raise Http404(_("No such file."))
    try:
        return (
            Attachment.objects.filter(ticket=ticket)
            .visible_to(viewer)
            .stored()
            .get(pk=attachment_id)
        )
    except Attachment.DoesNotExist:
        logger.info(
            "file %s of ticket %s refused to user=%s",
            attachment_id,
            ticket.pk,
            getattr(viewer, "pk", None) or "-",
        )
        raise Http404(_("No such file.")) from None


def mail_of_message(viewer, ticket: Ticket, message_id: int) -> InboundEmail:
    """The mail a message of `ticket` (fetched with get_ticket_for) came from, if `viewer` may
    read that message; otherwise 404, as for a missing one."""
    if not isinstance(message_id, int) or not 1 <= message_id <= MAX_ID:
        raise Http404(_("No such mail."))
    readable = Message.objects.filter(ticket=ticket).visible_to(viewer).filter(pk=message_id)
    inbound = (
        InboundEmail.objects.filter(reply__in=readable)
        .only("pk", "from_address", "subject", "received_at", "text", "reply_id")
        .order_by("received_at", "pk")
        .first()
    )
    if inbound is None:
        raise Http404(_("No such mail."))
    return inbound


def messages_since(
    ticket: Ticket, message_id: int, viewer, *, internal: bool = False
) -> list[dict]:
    """The messages on `ticket` after `message_id` written by others than `viewer`, oldest
    first, as MessageQuerySet.entries() gives them, in one query: the public ones (a staff reply
    is held when there are any), or with `internal` the internal notes too (the staff page's
    "new reply" poll)."""
    messages = Message.objects.filter(ticket=ticket, pk__gt=message_id).exclude(sender=viewer)
    if not internal:
        messages = messages.filter(is_internal=False)
    return messages.visible_to(viewer).order_by("created_at", "pk").entries()
