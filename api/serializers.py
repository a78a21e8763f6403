"""What the API reads and writes. Input serializers list exactly what each person may send;
the views pass what they validated to the services, which decide (and check again)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from messaging.models import Message
from tickets.models import MAX_ID, Category, Tag, Ticket
from tickets.services import parse_tags


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class CategoryBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TicketSerializer(serializers.ModelSerializer):
    """A ticket as its page shows it to the person asking."""

    reporter = UserBriefSerializer()
    assignee = UserBriefSerializer(allow_null=True)
    category = CategoryBriefSerializer(allow_null=True)
    tags = serializers.SerializerMethodField(
        help_text="The staff's tags on the ticket; null for customers (tags are the staff's own)."
    )
    allowed_statuses = serializers.SerializerMethodField(
        help_text="The statuses you may move the ticket to now."
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "title",
            "description",
            "status",
            "priority",
            "reporter",
            "assignee",
            "category",
            "tags",
            "created_at",
            "modified_at",
            "last_activity_at",
            "closed_at",
            "version",
            "allowed_statuses",
        ]
        read_only_fields = fields

    def _viewer(self):
        return self.context["request"].user

    def to_representation(self, ticket: Ticket) -> dict:
        # The fields above, written out: the same values as DRF's field by field walk, at a
        # fraction of its cost on a page of 50 tickets (bench/api_bench.py).
        when = self._when

        def brief(user) -> dict | None:
            return None if user is None else {"id": user.pk, "username": user.username}

        category = ticket.category
        return {
            "id": ticket.pk,
            "title": ticket.title,
            "description": ticket.description,
            "status": ticket.status,
            "priority": ticket.priority,
            "reporter": brief(ticket.reporter),
            "assignee": brief(ticket.assignee),
            "category": None if category is None else {"id": category.pk, "name": category.name},
            "tags": self.get_tags(ticket),
            "created_at": when(ticket.created_at),
            "modified_at": when(ticket.modified_at),
            "last_activity_at": when(ticket.last_activity_at),
            "closed_at": when(ticket.closed_at),
            "version": ticket.version,
            "allowed_statuses": self.get_allowed_statuses(ticket),
        }

    @cached_property
    def _when(self):
        field = serializers.DateTimeField()
        return lambda value: None if value is None else field.to_representation(value)

    def get_tags(self, ticket: Ticket) -> list[str] | None:
        return list(ticket.tag_names) if self._viewer().is_staff else None

    def get_allowed_statuses(self, ticket: Ticket) -> list[str]:
        return ticket.allowed_statuses_for(self._viewer())


class TicketCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20_000)
    priority = serializers.ChoiceField(
        choices=Ticket.Priority.choices, default=Ticket.Priority.NORMAL
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True
    )
    customer = serializers.CharField(
        max_length=254,
        required=False,
        help_text="Staff only: open the ticket for this customer (username or email address; "
        "an address no account has gets a new customer account).",
    )
    files = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        max_length=50,  # the real limit (ATTACHMENT_MAX_FILES) is the service's, with its words
        help_text="Multipart only: files sent with the ticket (repeat the field for each); "
        "the same limits and types as the pages.",
    )


class TicketChangeSerializer(serializers.Serializer):
    """A change to a ticket. Customers may send `status` only (the moves the reporter may
    make); the other fields are for staff."""

    version = serializers.IntegerField(
        min_value=1, help_text="The ticket's version you saw; an older one is refused (409)."
    )
    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_staff=True), required=False, allow_null=True
    )
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=Tag.MAX_LENGTH),
        max_length=50,
        required=False,
        help_text="The ticket's whole new set of tags.",
    )

    STAFF_FIELDS = ("assignee", "priority", "category", "tags")

    def validate_tags(self, names: list[str]) -> list[str]:
        if any("," in name for name in names):
            raise serializers.ValidationError("A tag cannot have a comma in it.")
        try:
            return parse_tags(",".join(names))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class FileSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    size = serializers.IntegerField()
    type = serializers.CharField(source="sniffed_type", help_text="Read from the file's bytes.")
    removed_at = serializers.DateTimeField(
        allow_null=True, help_text="Set when staff removed the file (its bytes are gone)."
    )


class TicketFileSerializer(FileSerializer):
    """A file of the ticket, with where it came from and where to get it."""

    message = serializers.IntegerField(
        source="message_id",
        allow_null=True,
        help_text="The message it was sent with; null: sent with the ticket when it was reported.",
    )
    uploaded_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(
        help_text="Its bytes (GET, the same checks as the pages); null once staff removed it."
    )

    def get_url(self, attachment) -> str | None:
        if attachment.removed_at is not None:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("api:file", args=[attachment.ticket_id, attachment.pk])
        )


class MessageSerializer(serializers.ModelSerializer):
    """A message of the conversation, with its files. The context names the ticket's
    `reporter_id` and its `files` (messaging.selectors.files_by_message)."""

    sender = UserBriefSerializer()
    from_staff = serializers.SerializerMethodField(
        help_text="Written by staff other than the ticket's reporter."
    )
    files = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "sender", "from_staff", "is_internal", "content", "created_at", "files"]
        read_only_fields = fields

    def get_from_staff(self, message: Message) -> bool:
        return message.sender.is_staff and message.sender_id != self.context["reporter_id"]

    @extend_schema_field(FileSerializer(many=True))
    def get_files(self, message: Message) -> list:
        return FileSerializer(self.context["files"].get(message.pk, []), many=True).data


class MessageCreateSerializer(serializers.Serializer):
    content = serializers.CharField(
        max_length=10_000,
        required=False,
        help_text="The text; may be left out when `canned_reply` is sent.",
    )
    is_internal = serializers.BooleanField(
        default=False, help_text="Staff only: an internal note, never shown to the customer."
    )
    canned_reply = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="Staff only: a canned reply's id (GET /api/v1/canned-replies/); without "
        "`content`, its text, with its placeholders filled in for this ticket, is the message.",
    )
    seen_message = serializers.IntegerField(
        min_value=0,
        max_value=MAX_ID,
        required=False,
        help_text="The newest message you have read (0: none). When someone else wrote a public "
        "message after it, the reply is held, not sent: 409, with those messages in `messages`.",
    )
    send_anyway = serializers.BooleanField(
        default=False, help_text="Send even if newer messages came after `seen_message`."
    )

    def validate(self, data: dict) -> dict:
        if not data.get("content", "").strip() and "canned_reply" not in data:
            raise serializers.ValidationError(
                {"content": ["Write the reply, or send a canned_reply."]}
            )
        return data


class FileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="One file; the same limits and types as the pages.")


class CannedReplySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    shared = serializers.BooleanField(
        source="is_shared", help_text="Shared by every agent; false: your own."
    )
    text = serializers.CharField(
        source="body",
        help_text="With its placeholders ({{ customer.first_name }}, {{ ticket.id }}, "
        "{{ agent.first_name }}), filled in when it is used in a reply.",
    )
    updated_at = serializers.DateTimeField()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_staff"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name"]
        read_only_fields = fields
