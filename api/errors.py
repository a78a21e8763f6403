"""One JSON shape for every error the API answers: {"type", "detail", "errors"}.

`type` is a fixed word per kind of error (ERROR_TYPES), `detail` a sentence a person can read,
`errors` the field errors ({"field": ["message", ...]}; {} when none). A 409 (the ticket changed
since the `version` sent) adds `current`: the ticket as it is now; a held reply's 409 adds
`messages`: those written after the one the client had seen.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler

from .serializers import MessageSerializer, TicketSerializer

ERROR_TYPES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


class Conflict(exceptions.APIException):
    """The ticket changed after the version the request was based on."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The ticket changed since the version you sent."
    default_code = "conflict"

    def __init__(self, detail: str, current: dict):
        super().__init__(detail)
        self.current = current


class HeldReply(exceptions.APIException):
    """A reply not sent: someone else wrote after the message the client said it had seen."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, detail: str, messages: list):
        super().__init__(detail)
        self.messages = messages


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "What you sent is larger than the API accepts."
    default_code = "too_large"


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _messages(item)]
    if isinstance(value, list):
        return [text for item in value for text in _messages(item)]
    return [str(value)]


def _from_django(exc: DjangoValidationError) -> exceptions.APIException:
    """A service's ValidationError: field errors stay field errors. A file refused for its size
    is a 413, for its type a 415."""
    codes = {error.code for error in exc.error_list} if not hasattr(exc, "error_dict") else set()
    if hasattr(exc, "error_dict"):
        codes = {error.code for errors in exc.error_dict.values() for error in errors}
        detail = exc.message_dict
    else:
        detail = {"non_field_errors": exc.messages}
    if codes == {"too_large"}:
        return TooLarge(" ".join(_messages(detail)))
    if codes == {"type"}:
        error = exceptions.UnsupportedMediaType("")
        error.detail = " ".join(_messages(detail))
        return error
    return exceptions.ValidationError(detail)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _from_django(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = TooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's 500 handling and logging
    data = response.data
    errors: dict = {}
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, dict):
            errors = {key: _messages(value) for key, value in data.items()}
        else:
            errors = {"non_field_errors": _messages(data)}
        detail = " ".join(f"{text}" for texts in errors.values() for text in texts)
    else:
        detail = " ".join(_messages(data.get("detail", data) if isinstance(data, dict) else data))
    body = {
        "type": ERROR_TYPES.get(response.status_code, "error"),
        "detail": detail,
        "errors": errors,
    }
    if isinstance(exc, Conflict):
        body["current"] = exc.current
    if isinstance(exc, HeldReply):
        body["messages"] = exc.messages
    response.data = body
    return response


class ErrorSerializer(serializers.Serializer):
    """The shape of every error (see the module's docstring)."""

    type = serializers.ChoiceField(choices=sorted(set(ERROR_TYPES.values())))
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field errors by field name; empty when the error is not about a field.",
    )


class HeldReplySerializer(ErrorSerializer):
    """A 409 for a held reply: the error, and the messages that came after `seen_message`."""

    messages = MessageSerializer(
        many=True, help_text="The newer messages, as the conversation lists them."
    )


class TicketConflictSerializer(ErrorSerializer):
    """A 409 for a change based on an old `version`: the error, and the ticket as it is now."""

    current = TicketSerializer(
        help_text="The ticket as it is now: send the change again with its `version`."
    )


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


# The errors every operation can answer, for the schema.
COMMON_ERRORS = {
    401: error("No credentials, or a token that does not open the API."),
    403: error("Signed in, but this is not for you (or the CSRF token is missing)."),
    429: error("Too many requests: wait for the seconds in Retry-After."),
}
# The errors of every operation that reads a body: Django refuses a body over
# DATA_UPLOAD_MAX_MEMORY_SIZE (413) and DRF one in a type it has no parser for (415) before the
# view looks at it; the file checks add their own 413 and 415.
BODY_ERRORS = {
    413: error("The body, or a file in it, is larger than the help desk accepts."),
    415: error(
        "A body in a type the API does not read (it reads JSON and multipart/form-data), or a "
        "file of a type the help desk does not take."
    ),
}

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    required=True,
    response=[429],
    description="Seconds to wait before the next request is accepted.",
)


class ApiSchema(AutoSchema):
    """The API's operations as drf-spectacular describes them, with the header every 429
    sends (DEFAULT_SCHEMA_CLASS)."""

    def get_override_parameters(self):
        return [*super().get_override_parameters(), RETRY_AFTER]
