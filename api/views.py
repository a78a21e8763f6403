"""The API's views: thin. Serializers validate, the services change things, the selectors read;
get_ticket_for and the list's visibility query decide who sees what, as on the pages."""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from messaging.attachments import ALLOWED_TYPES
from messaging.models import Attachment, CannedReply, Message
from messaging.selectors import attachment_for, files_by_message, messages_since
from messaging.services import (
    attachment_add,
    message_send,
    ticket_create_with_files,
    ticket_open_for_with_files,
)
from messaging.views import file_response
from reports import caching
from reports.forms import PRESETS, ReportForm
from reports.periods import BUCKETS
from tickets.models import MAX_ID, StaleTicketError, Ticket
from tickets.selectors import get_ticket_for
from tickets.services import ticket_mark_seen, ticket_update

from . import serializers as s
from .errors import (
    BODY_ERRORS,
    COMMON_ERRORS,
    Conflict,
    HeldReply,
    HeldReplySerializer,
    TicketConflictSerializer,
    error,
)
from .filters import TicketFilter
from .pagination import OldestFirst, SortedTickets
from .throttling import ApiThrottle, SearchThrottle, ThrottledFirst

# A retried POST with the same key stores one ticket or message: the key, per user, gives the
# client token the services already use against a double submit.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6c1d4f0e-9f54-4c55-9b8e-4f6b2f0b7a11")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any string of 1 to 200 visible ASCII characters, new for each new request: "
    "a request retried with the same key does nothing a second time and answers 200 with "
    "what the first one made. Keys are yours alone, and a reply's belong to its ticket.",
)
NO_MESSAGE = "No such message."
# What a download is served as: the type read from its bytes, one of those the help desk takes
# (any text/x-... libmagic names for a log or source code is plain text to it).
FILE_TYPES = [*sorted(ALLOWED_TYPES), "text/*"]
NOT_FOUND = {404: error("No such ticket, or not one you may see: the same answer.")}


def idempotency_token(request, *, scope: str) -> uuid.UUID | None:
    """The client token of a request's Idempotency-Key: per user and per `scope` (a new ticket,
    or a reply on one ticket), so a key used again elsewhere is a new request, never the answer
    to another."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not all(33 <= ord(ch) <= 126 for ch in key):
        raise ValidationError(
            {"Idempotency-Key": ["Send 1 to 200 visible ASCII characters (no spaces)."]}
        )
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{request.user.pk}:{scope}:{key}")


def validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def read_ticket(request, pk: int) -> Ticket:
    """The ticket (get_ticket_for), read as the ticket page is: a GET by its reporter marks the
    staff's replies seen (the "New reply" marker clears); a HEAD shows nothing, so writes
    nothing."""
    ticket = get_ticket_for(request.user, pk)
    if request.method == "GET":
        ticket_mark_seen(ticket=ticket, user=request.user)
    return ticket


def ticket_body(request, ticket: Ticket) -> dict:
    return s.TicketSerializer(ticket, context={"request": request}).data


class TicketList(ThrottledFirst, generics.GenericAPIView):
    serializer_class = s.TicketSerializer
    pagination_class = SortedTickets
    filterset_class = TicketFilter

    def get_queryset(self):
        return (
            Ticket.objects.visible_to(self.request.user)
            .select_related("reporter", "assignee", "category")
            .defer("search_vector")  # the search's own column, as get_ticket_for
        )

    def get_throttles(self):
        if "q" in self.request.query_params:
            return [ApiThrottle(), SearchThrottle()]
        return super().get_throttles()

    @extend_schema(
        summary="The tickets you may see, newest first or in the `ordering` you choose",
        responses={200: s.TicketSerializer(many=True), 400: error("A filter is not valid.")}
        | COMMON_ERRORS,
    )
    def get(self, request):
        tickets = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(tickets)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Report a ticket (staff: open one for a customer)",
        request={
            "application/json": s.TicketCreateSerializer,
            "multipart/form-data": s.TicketCreateSerializer,
        },
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: s.TicketSerializer,
            200: OpenApiResponse(s.TicketSerializer, description="A retried request's ticket."),
            400: error("Not valid (field errors say why), or too many files."),
        }
        | BODY_ERRORS
        | COMMON_ERRORS,
    )
    def post(self, request):
        data = validated(s.TicketCreateSerializer, request)
        customer = data.get("customer", "")
        if customer and not request.user.is_staff:
            raise PermissionDenied("Only staff may open tickets for customers.")
        token = idempotency_token(request, scope="new ticket")
        replayed = token is not None and Ticket.objects.filter(client_token=token).exists()
        fields = {
            "title": data["title"],
            "description": data["description"],
            "priority": data["priority"],
            "category": data.get("category"),
            "client_token": token,
            "files": data.get("files", []),
        }
        if customer:
            ticket = ticket_open_for_with_files(agent=request.user, customer=customer, **fields)
        else:
            ticket = ticket_create_with_files(reporter=request.user, **fields)
        ticket = get_ticket_for(request.user, ticket.pk)
        code = status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
        return Response(ticket_body(request, ticket), status=code)


class TicketDetail(ThrottledFirst, APIView):
    @extend_schema(
        summary="A ticket", responses={200: s.TicketSerializer} | NOT_FOUND | COMMON_ERRORS
    )
    def get(self, request, pk: int):
        return Response(ticket_body(request, read_ticket(request, pk)))

    @extend_schema(
        summary="Change a ticket's status (its reporter or staff), assignee, priority, "
        "category or tags (staff)",
        request=s.TicketChangeSerializer,
        responses={
            200: s.TicketSerializer,
            400: error("Not valid, or a move the ticket cannot make."),
            409: OpenApiResponse(
                TicketConflictSerializer,
                description="The ticket changed since the version sent; `current` is the ticket "
                "now, and nothing was changed.",
            ),
        }
        | BODY_ERRORS
        | NOT_FOUND
        | COMMON_ERRORS,
    )
    def patch(self, request, pk: int):
        ticket = get_ticket_for(request.user, pk)
        user = request.user
        if not user.is_staff and isinstance(request.data, dict):
            # Refused before anything is read, so errors cannot tell which ids are staff.
            sent = [name for name in s.TicketChangeSerializer.STAFF_FIELDS if name in request.data]
            if sent:
                raise PermissionDenied(f"Only staff may change {', '.join(sent)}.")
        data = validated(s.TicketChangeSerializer, request)
        try:
            if user.is_staff:
                ticket_update(
                    ticket=ticket,
                    by=user,
                    expected_version=data["version"],
                    status=data.get("status"),
                    assignee=data.get("assignee"),
                    change_assignee="assignee" in data,
                    priority=data.get("priority"),
                    category=data.get("category"),
                    change_category="category" in data,
                    tags=data.get("tags"),
                )
            elif "status" in data:
                ticket.update_status(data["status"], by=user, expected_version=data["version"])
        except StaleTicketError:
            current = get_ticket_for(user, pk)
            who = current.modified_by.username if current.modified_by_id else "someone else"
            raise Conflict(
                f"The ticket was changed by {who} after version {data['version']}: it is at "
                f"version {current.version} (in `current`). Nothing was changed; send the change "
                "again with that version if it still applies.",
                ticket_body(request, current),
            ) from None
        return Response(ticket_body(request, get_ticket_for(user, pk)))


class MessageList(ThrottledFirst, generics.GenericAPIView):
    serializer_class = s.MessageSerializer
    pagination_class = OldestFirst
    queryset = Message.objects.none()  # for the schema; the rows come from Message.receive

    def rows(self, ticket: Ticket, messages) -> list:
        files = files_by_message(ticket, self.request.user) if ticket.has_files else {}
        return s.MessageSerializer(
            messages,
            many=True,
            context={"request": self.request, "files": files, "reporter_id": ticket.reporter_id},
        ).data

    @extend_schema(
        summary="A ticket's conversation, oldest first (internal notes for staff only)",
        responses={200: s.MessageSerializer(many=True), 400: error("Not a cursor of this list.")}
        | NOT_FOUND
        | COMMON_ERRORS,
    )
    def get(self, request, pk: int):
        ticket = read_ticket(request, pk)
        page = self.paginate_queryset(Message.receive(ticket, request.user))
        return self.get_paginated_response(self.rows(ticket, page))

    def canned_text(self, ticket: Ticket, reply_id: int) -> str:
        if not self.request.user.is_staff:
            raise PermissionDenied("Only staff use canned replies.")
        reply = CannedReply.objects.usable_by(self.request.user).filter(pk=reply_id).first()
        if reply is None:
            raise ValidationError({"canned_reply": ["No such canned reply, or not one of yours."]})
        return reply.filled(customer=ticket.reporter, ticket_id=ticket.pk, agent=self.request.user)

    @extend_schema(
        summary="Reply on a ticket, or (staff) add an internal note",
        request=s.MessageCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: s.MessageSerializer,
            200: OpenApiResponse(s.MessageSerializer, description="A retried request's message."),
            400: error("Not valid (field errors say why)."),
            409: OpenApiResponse(
                HeldReplySerializer,
                description="Held, not sent: someone else wrote after `seen_message`; the "
                "newer messages are in `messages`.",
            ),
        }
        | BODY_ERRORS
        | NOT_FOUND
        | COMMON_ERRORS,
    )
    def post(self, request, pk: int):
        ticket = get_ticket_for(request.user, pk)
        data = validated(s.MessageCreateSerializer, request)
        token = idempotency_token(request, scope=f"ticket {ticket.pk}")
        replayed = token is not None and Message.objects.filter(client_token=token).exists()
        content = data.get("content", "")
        if "canned_reply" in data:
            content = content or self.canned_text(ticket, data["canned_reply"])
        seen = data.get("seen_message")
        if not (replayed or data["is_internal"] or data["send_anyway"] or seen is None):
            # As the staff's ticket page holds a reply (tickets.views.ticket_reply).
            held = messages_since(ticket, seen, request.user)
            if held:
                newer = Message.receive(ticket, request.user).filter(
                    pk__in=[entry["pk"] for entry in held]
                )
                who = ", ".join(dict.fromkeys(entry["sender_name"] for entry in held))
                raise HeldReply(
                    f"Not sent: {who} wrote after message {seen} (in `messages`). Read it, then "
                    "send again with the newest id as seen_message, or with send_anyway.",
                    self.rows(ticket, newer),
                )
        message = message_send(
            ticket=ticket,
            sender=request.user,
            content=content,
            is_internal=data["is_internal"],
            client_token=token,
        )
        code = status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
        return Response(self.rows(ticket, [message])[0], status=code)


class MessageFiles(ThrottledFirst, APIView):
    @extend_schema(
        summary="Attach a file to your own message",
        request={"multipart/form-data": s.FileUploadSerializer},
        responses={
            201: s.FileSerializer,
            400: error("No file, or too many on the message."),
        }
        | BODY_ERRORS
        | NOT_FOUND
        | COMMON_ERRORS,
    )
    def post(self, request, pk: int, message_id: int):
        # Someone else's ticket, a missing one, a message of another ticket: the same 404.
        try:
            ticket = get_ticket_for(request.user, pk)
        except Http404:
            raise NotFound(NO_MESSAGE) from None
        message = Message.receive(ticket, request.user).filter(pk=min(message_id, MAX_ID)).first()
        if message is None:
            raise NotFound(NO_MESSAGE)
        data = validated(s.FileUploadSerializer, request)
        attachment = attachment_add(
            ticket=ticket, message=message, upload=data["file"], by=request.user
        )
        return Response(s.FileSerializer(attachment).data, status=status.HTTP_201_CREATED)


class TicketFiles(ThrottledFirst, generics.GenericAPIView):
    serializer_class = s.TicketFileSerializer
    pagination_class = OldestFirst
    queryset = Attachment.objects.none()  # for the schema; the rows come from the ticket

    @extend_schema(
        summary="The ticket's files, oldest first: those sent with it and with every message "
        "you may read (an internal note's files for staff only)",
        responses={
            200: s.TicketFileSerializer(many=True),
            400: error("Not a cursor of this list."),
        }
        | NOT_FOUND
        | COMMON_ERRORS,
    )
    def get(self, request, pk: int):
        ticket = get_ticket_for(request.user, pk)
        files = Attachment.objects.none()
        if ticket.has_files:  # as on the pages: a ticket that never had a file is not asked
            files = Attachment.objects.filter(ticket=ticket).visible_to(request.user)
        page = self.paginate_queryset(
            files.only(
                "pk",
                "ticket_id",
                "message_id",
                "name",
                "size",
                "sniffed_type",
                "uploaded_at",
                "removed_at",
            )
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class FileDownload(ThrottledFirst, APIView):
    @extend_schema(
        summary="A file's bytes (the same checks as the pages)",
        responses={
            (200, media_type): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file's bytes, in the type read from them when it was stored "
                "(one of those the help desk takes; text/* for text and logs).",
            )
            for media_type in FILE_TYPES
        }
        | {404: error("No such file, or not one you may have.")}
        | COMMON_ERRORS,
    )
    def get(self, request, pk: int, file_id: int):
        try:
            ticket = get_ticket_for(request.user, pk)
        except Http404:
            raise NotFound("No such file.") from None  # as for a missing file
        return file_response(request, attachment_for(request.user, ticket, file_id))


class CannedReplies(ThrottledFirst, generics.GenericAPIView):
    serializer_class = s.CannedReplySerializer
    pagination_class = OldestFirst
    queryset = CannedReply.objects.none()  # for the schema; the rows are the user's

    @extend_schema(
        summary="Staff: the canned replies you may use (the shared ones and your own)",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description="Only those whose title or text holds this (any case).",
            )
        ],
        responses={200: s.CannedReplySerializer(many=True), 400: error("Not a cursor.")}
        | COMMON_ERRORS,
    )
    def get(self, request):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff use canned replies.")
        query = request.query_params.get("q", "")[:100]
        replies = CannedReply.objects.usable_by(request.user).search(query)
        page = self.paginate_queryset(replies.only("pk", "title", "body", "owner_id", "updated_at"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class CannedReplyDetail(ThrottledFirst, APIView):
    @extend_schema(
        summary="Staff: a canned reply you may use",
        responses={
            200: s.CannedReplySerializer,
            404: error("No such canned reply, or another agent's own: the same answer."),
        }
        | COMMON_ERRORS,
    )
    def get(self, request, reply_id: int):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff use canned replies.")
        reply = CannedReply.objects.usable_by(request.user).filter(pk=min(reply_id, MAX_ID)).first()
        if reply is None:
            raise NotFound("No such canned reply.")
        return Response(s.CannedReplySerializer(reply).data)


class Me(ThrottledFirst, APIView):
    @extend_schema(summary="Who you are", responses={200: s.UserSerializer} | COMMON_ERRORS)
    def get(self, request):
        return Response(s.UserSerializer(request.user).data)


class Customers(ThrottledFirst, generics.GenericAPIView):
    serializer_class = s.CustomerSerializer
    pagination_class = None
    queryset = User.objects.none()  # for the schema; the rows come from User.objects.customers

    @extend_schema(
        summary="Staff: the customer with this email address (a list of at most one)",
        parameters=[OpenApiParameter("email", OpenApiTypes.EMAIL, required=True)],
        responses={200: s.CustomerSerializer(many=True), 400: error("No email address.")}
        | COMMON_ERRORS,
    )
    def get(self, request):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff may look customers up.")
        email = request.query_params.get("email", "").strip()
        if not email or len(email) > 254:
            raise ValidationError({"email": ["Send the customer's email address."]})
        customers = User.objects.customers().filter(email__iexact=email).order_by("pk")[:1]
        return Response(self.get_serializer(customers, many=True).data)


class Report(ThrottledFirst, APIView):
    @extend_schema(
        summary="Staff: the report of a period, the same numbers as the report page",
        parameters=[
            OpenApiParameter("preset", OpenApiTypes.STR, enum=[key for key, _ in PRESETS]),
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Included."),
            OpenApiParameter("bucket", OpenApiTypes.STR, enum=list(BUCKETS)),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The report page's data."),
            400: error("Not a period the report can cover."),
        }
        | COMMON_ERRORS,
    )
    def get(self, request):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff may read the reports.")
        form = ReportForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
        return Response(caching.cached_report(form.cleaned_data["period"]).as_dict())
