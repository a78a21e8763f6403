from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.utils import timezone

from tickets.models import Ticket
from tickets.search_vectors import SearchDocument


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
        writes as its customer)."""
        from_staff = ExpressionWrapper(
            Q(sender__is_staff=True) & ~Q(sender_id=F("ticket__reporter_id")),
            output_field=models.BooleanField(),
        )
        return list(
            self.values(
                "pk",
                "sender_id",
                "is_internal",
                "created_at",
                "content",
                sender_name=F("sender__username"),
                from_staff=from_staff,
            )
        )


class Message(models.Model):
    """One message in a ticket's conversation, or an internal note between staff."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sent_messages"
    )
    # The other party: the reporter when staff write; the assignee when the reporter writes
    # (None while unassigned, and for internal notes).
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="received_messages",
        null=True,
        blank=True,
    )
    content = models.TextField(max_length=10_000, validators=[MinLengthValidator(1)])
    is_internal = models.BooleanField(
        "internal note", default=False, help_text="Seen by staff only, never by the reporter."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The message's words, for the search: PostgreSQL's tsvector with a GIN index (migration
    # 0004); NULL on SQLite, whose search reads the FTS5 table messaging_message_fts.
    search_vector = models.GeneratedField(
        expression=SearchDocument(("content", None)),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # Set by the reply form, so the same form posted twice stores one message.
    client_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
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

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="attachments",
        null=True,
        blank=True,
    )
    storage_name = models.CharField(max_length=100, blank=True, editable=False)
    name = models.CharField(max_length=150)
    size = models.PositiveBigIntegerField()
    declared_type = models.CharField(max_length=100, blank=True)
    sniffed_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "pk"]
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
