from __future__ import annotations

import re

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket
from tickets.search_vectors import SearchDocument
from tickets.selectors import in_time_zone

# How the conversation signs the messages of an anonymised account.
FORMER_CUSTOMER_NAME = gettext_noop("Former customer")


class MessageQuerySet(models.QuerySet):
    def visible_to(self, user) -> MessageQuerySet:
        """Internal notes are for staff only."""
        if user.is_staff:
            return self
        return self.filter(is_internal=False)

    def entries(self) -> list[dict]:
        """The messages as a page shows them, in one query: dicts of the columns shown (not
        model instances, nor the senders' whole rows), with the sender's name and `from_staff`:
        written by staff other than the ticket's reporter (a staff member who reported the ticket
        writes as its customer); `by_mail`: it came by email (its whole mail can be shown).
        Plain columns, worked out here: as SQL expressions (CASE, a boolean expression) they cost
        more to build on every page than the query took to run."""
        former = gettext(FORMER_CUSTOMER_NAME)
        rows = list(
            self.values(
                "pk",
                "sender_id",
                "is_internal",
                "created_at",
                "content",
                "sender__username",
                "sender__is_staff",
                "sender__anonymised_at",
                "ticket__reporter_id",
                "by_mail",
            )
        )
        for row in rows:
            # An anonymised customer's messages stay, signed as a former customer's.
            anonymised = row.pop("sender__anonymised_at") is not None
            username = row.pop("sender__username")
            row["sender_name"] = former if anonymised else username
            reporter_id = row.pop("ticket__reporter_id")
            row["from_staff"] = row.pop("sender__is_staff") and row["sender_id"] != reporter_id
        return in_time_zone(rows, "created_at")


class Message(models.Model):
    """One message in a ticket's conversation, or an internal note between staff."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="sent_messages",
        verbose_name=_("sender"),
    )
    # The other party: the reporter when staff write; the assignee when the reporter writes
    # (None while unassigned, and for internal notes).
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="received_messages",
        null=True,
        blank=True,
        verbose_name=_("receiver"),
    )
    content = models.TextField(
        max_length=10_000, validators=[MinLengthValidator(1)], verbose_name=_("text")
    )
    is_internal = models.BooleanField(
        _("internal note"), default=False, help_text=_("Seen by staff only, never by the reporter.")
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    # The message's words, for the search: PostgreSQL's tsvector with a GIN index (migration
    # 0004); NULL on SQLite, whose search reads the FTS5 table messaging_message_fts.
    search_vector = models.GeneratedField(
        expression=SearchDocument(("content", None)),
        output_field=SearchVectorField(),
        db_persist=True,
        verbose_name=_("search words"),
    )
    # It came by email (messaging.inbound): its whole mail can be shown. Set once, when the mail
    # is processed, so that a conversation does not look each of its messages up in the mails.
    # The database has the default too: a row written outside Django is not refused.
    by_mail = models.BooleanField(
        _("came by email"), default=False, db_default=False, editable=False
    )
    # Set by the reply form, so the same form posted twice stores one message.
    client_token = models.UUIDField(
        null=True, blank=True, unique=True, editable=False, verbose_name=_("form token")
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.CheckConstraint(condition=~Q(content=""), name="message_content_not_empty"),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_time"),
        ]

    def __str__(self) -> str:
        kind = "note" if self.is_internal else "message"
        return f"{kind} #{self.pk} on ticket #{self.ticket_id} by {self.sender}"

    def clean(self) -> None:
        # A TextField's max_length is enforced by forms only, not by full_clean(): check it here.
        limit = self._meta.get_field("content").max_length
        try:
            MaxLengthValidator(limit)(self.content or "")
            # Forms refuse NUL bytes, full_clean() does not; PostgreSQL cannot store them.
            ProhibitNullCharactersValidator()(self.content or "")
        except ValidationError as exc:
            raise ValidationError({"content": exc.error_list}) from None

    @classmethod
    def send(cls, *, ticket: Ticket, sender, content: str, is_internal: bool = False, **kwargs):
        """The original design's entry point: see messaging.services.message_send."""
        from .services import message_send

        return message_send(
            ticket=ticket, sender=sender, content=content, is_internal=is_internal, **kwargs
        )

    @classmethod
    def receive(cls, ticket: Ticket, user) -> MessageQuerySet:
        """The conversation on `ticket` as `user` may read it, oldest first."""
        return (
            cls.objects.filter(ticket=ticket)
            .visible_to(user)
            .select_related("sender")
            .order_by("created_at", "pk")
        )


class AttachmentQuerySet(models.QuerySet):
    def visible_to(self, user) -> AttachmentQuerySet:
        """An internal note's files are for staff only, like the note."""
        if user.is_staff:
            return self
        return self.filter(Q(message__isnull=True) | Q(message__is_internal=False))

    def stored(self) -> AttachmentQuerySet:
        """Those whose bytes are still kept (not removed by staff)."""
        return self.filter(removed_at__isnull=True)


class Attachment(models.Model):
    """A file sent with a message, or with the ticket when it was reported (`message` None).

    The bytes are in the "attachments" storage under `storage_name`, a random name; `name` is
    the uploaded name, cleaned (messaging.attachments.clean_name), shown and sent back on
    download. `sniffed_type` is what the bytes are (libmagic), and the only type ever served.
    Staff may remove a file: its bytes are deleted, `storage_name` is emptied and the row stays,
    so the conversation can say who removed it and when.
    """

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("ticket")
    )
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="attachments",
        null=True,
        blank=True,
        verbose_name=_("message"),
    )
    storage_name = models.CharField(
        max_length=100, blank=True, editable=False, verbose_name=_("stored as")
    )
    name = models.CharField(max_length=150, verbose_name=_("file name"))
    size = models.PositiveBigIntegerField(verbose_name=_("size"))
    declared_type = models.CharField(max_length=100, blank=True, verbose_name=_("declared type"))
    sniffed_type = models.CharField(max_length=100, verbose_name=_("detected type"))
    sha256 = models.CharField(max_length=64, verbose_name=_("SHA-256"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(default=timezone.now, verbose_name=_("uploaded at"))
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("removed by"),
    )
    removed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("removed at"))

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            # Kept bytes have a name; removed ones have none (and a time).
            models.CheckConstraint(
                condition=(
                    Q(removed_at__isnull=True) & ~Q(storage_name="")
                    | Q(removed_at__isnull=False, storage_name="")
                ),
                name="attachment_stored_or_removed",
            ),
            models.UniqueConstraint(
                fields=["storage_name"],
                condition=~Q(storage_name=""),
                name="attachment_storage_name_unique",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="attachment_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on ticket #{self.ticket_id}"

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


class InboundEmail(models.Model):
    """One email that came in (by IMAP or through `manage.py ingest_email`), kept as it came,
    with what the help desk did with it (messaging.inbound.ingest).

    `key` makes the same mail delivered twice one row, processed once: a hash of its sender,
    Message-ID, Date and Subject when it has a Message-ID (the same mail fetched twice, or
    delivered to two of our addresses), else of its bytes (messaging.inbound.dedup_key).
    """

    class Status(models.TextChoices):
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        BOUNCE = "bounce", _("Bounce")
        QUARANTINED = "quarantined", _("Quarantined")
        FAILED = "failed", _("Failed")

    key = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("key"))
    # The same bytes always make the same key, so the digest is unique too: a second row with
    # the same bytes is refused by the database as well.
    sha256 = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("SHA-256"))
    raw = models.BinaryField(editable=False, verbose_name=_("raw mail"))
    size = models.PositiveBigIntegerField(editable=False, verbose_name=_("size"))
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True, editable=False)
    source = models.CharField(max_length=100, editable=False, verbose_name=_("source"))
    from_address = models.CharField(
        max_length=254, blank=True, editable=False, verbose_name=_("from")
    )
    subject = models.CharField(
        max_length=255, blank=True, editable=False, verbose_name=_("subject")
    )
    # The whole text of the mail (its quotes and signature too): the conversation shows the
    # reply, the admin shows this.
    text = models.TextField(blank=True, editable=False, verbose_name=_("text"))
    status = models.CharField(
        max_length=16, choices=Status.choices, editable=False, verbose_name=_("status")
    )
    reason = models.CharField(max_length=500, blank=True, editable=False, verbose_name=_("reason"))
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_emails",
        verbose_name=_("ticket"),
    )
    # The message it added to the ticket's conversation (a reply; a new ticket has none).
    reply = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_emails",
        verbose_name=_("reply"),
    )
    # A new ticket by email: what the per-sender limit (INBOUND_MAX_NEW_PER_HOUR) counts.
    opened_ticket = models.BooleanField(
        default=False, editable=False, verbose_name=_("opened a ticket")
    )
    received_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("received at")
    )
    processed_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("processed at")
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")
        indexes = [
            models.Index(fields=["message_id"], name="inbound_message_id"),
            models.Index(fields=["from_address", "received_at"], name="inbound_sender_time"),
            models.Index(fields=["status", "received_at"], name="inbound_status_time"),
        ]

    def __str__(self) -> str:
        return f"inbound email #{self.pk} from {self.from_address or '(no sender)'}"


class CannedReplyQuerySet(models.QuerySet):
    def usable_by(self, user) -> CannedReplyQuerySet:
        """The shared replies and the user's own; none for someone who is not active staff."""
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return self.none()
        return self.filter(Q(owner__isnull=True) | Q(owner=user))

    def search(self, text: str) -> CannedReplyQuerySet:
        """Those whose title or text holds `text` (any case); everything for an empty one."""
        text = (text or "").strip()
        if not text:
            return self
        return self.filter(Q(title__icontains=text) | Q(body__icontains=text))


class CannedReply(models.Model):
    """A prepared answer staff insert into the ticket page's editor, then edit and send.

    Shared (no owner): every agent may use it; only staff with the permission
    `messaging.manage_shared_replies` may add, change or delete one. Personal: its owner's
    alone. The text may hold the placeholders of PLACEHOLDERS, filled in when it is inserted
    (`filled`): plain substitution from a fixed set, never a template engine on the text.
    """

    # What may stand in the text, and what fills it in (see `filled`).
    PLACEHOLDERS = {
        "customer.first_name": "the customer's first name (their username if they gave none)",
        "ticket.id": "the ticket's number",
        "agent.first_name": "your first name (your username if you gave none)",
    }
    _PLACEHOLDER = re.compile(r"\{\{\s*(customer\.first_name|ticket\.id|agent\.first_name)\s*\}\}")

    title = models.CharField(
        max_length=100, validators=[MinLengthValidator(1)], verbose_name=_("title")
    )
    body = models.TextField(
        _("text"),
        max_length=10_000,
        validators=[MinLengthValidator(1)],
        help_text=_(
            "Placeholders filled in when it is inserted: {{ customer.first_name }}, "
            "{{ ticket.id }}, {{ agent.first_name }}."
        ),
    )
    # None: shared by every agent.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="canned_replies",
        null=True,
        blank=True,
        editable=False,
        verbose_name=_("owner"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = CannedReplyQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        permissions = [
            ("manage_shared_replies", "Can add, change and delete shared canned replies"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="cannedreply_title_not_empty"),
            models.CheckConstraint(condition=~Q(body=""), name="cannedreply_body_not_empty"),
        ]
        indexes = [models.Index(fields=["owner", "title"], name="cannedreply_owner_title")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    def clean(self) -> None:
        limit = self._meta.get_field("body").max_length
        try:
            MaxLengthValidator(limit)(self.body or "")
            ProhibitNullCharactersValidator()(self.body or "")
            ProhibitNullCharactersValidator()(self.title or "")
        except ValidationError as exc:
            raise ValidationError({"body": exc.error_list}) from None

    def may_edit(self, user) -> bool:
        """Shared: staff with the permission; personal: its owner."""
        if not (user.is_active and user.is_staff):
            return False
        if self.is_shared:
            return user.has_perm("messaging.manage_shared_replies")
        return self.owner_id == user.pk

    def filled(self, *, customer, ticket_id: int, agent) -> str:
        """The text with its placeholders replaced by these values (and nothing else run)."""
        values = {
            "customer.first_name": customer.first_name or customer.username,
            "ticket.id": str(ticket_id),
            "agent.first_name": agent.first_name or agent.username,
        }
        return self._PLACEHOLDER.sub(lambda match: values[match.group(1)], self.body)
