"""One log line per request: method, path, status, duration and user id (never a body, never a
secret from the path); private pages kept out of caches; and the refusal of input no page can
read."""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import BadRequest
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from .log_format import logged_path

logger = logging.getLogger("helpdesk.requests")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else "-"
        level = logging.INFO
        if response.status_code >= 500:
            level = logging.ERROR
        elif response.status_code in (401, 403, 429):
            level = logging.WARNING
        path = logged_path(request)
        logger.log(
            level,
            "%s %s %s %.1fms user=%s",
            request.method,
            path,
            response.status_code,
            duration_ms,
            user_id,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 1),
                "user_id": user_id,
            },
        )
        return response


class PrivatePagesMiddleware:
    """Whatever is answered to a signed-in person (their tickets, profile, reports, the admin)
    is theirs alone: `Cache-Control: private, no-store`, so neither a shared proxy cache nor the
    browser's disk keeps a copy. Keyed on the person, not on a list of views, so a new page is
    covered without anyone remembering to decorate it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


class UnreadableRequest(BadRequest):
    """A request refused before any view reads it; its message is shown on the 400 page."""


class RequestInputMiddleware:
    """Refuse, with a 400 that says why, input that the pages could only misread.

    Django decodes query strings and form bodies with errors="replace", so bytes that are not
    valid UTF-8 would be saved as U+FFFD instead of what was typed. A NUL character is valid
    UTF-8 but PostgreSQL refuses it in a query: where it reaches a filter no form checks (the
    admin's list filters, its autocomplete) it was a server error. Browsers send neither. Only
    the forms in FILE_FORMS take files (attachments, at most ATTACHMENT_MAX_FILES of
    ATTACHMENT_MAX_BYTES each, and a body no larger than those and the form's fields): elsewhere
    an upload is refused rather than silently dropped. A POST is a form (urlencoded or
    multipart) or has no body.
    """

    # The URL names of the forms that take attachments, and their file fields.
    FILE_FORMS = {
        "tickets:create": {"files"},
        "tickets:reply": {"files"},
        "admin:tickets_ticket_change": {"reply_files", "note_files"},
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self.check(request)
        return self.get_response(request)

    @staticmethod
    def check(request) -> None:
        encoding = request.encoding or settings.DEFAULT_CHARSET
        query = request.META.get("QUERY_STRING", "")
        if len(query) > settings.MAX_QUERY_STRING_LENGTH:
            raise UnreadableRequest(
                _(
                    "The address is too long: it may have at most %(count)d characters "
                    "after the “?”."
                )
                % {"count": settings.MAX_QUERY_STRING_LENGTH}
            )
        # WSGI passes the query string as bytes decoded as latin-1 (ASGI as UTF-8 text).
        try:
            raw_query = query.encode("iso-8859-1")
        except UnicodeEncodeError:
            raw_query = query.encode()
        _check_urlencoded(raw_query, encoding, "The address")
        if request.method != "POST" or request.path_info.startswith("/api/"):
            # The API reads JSON and multipart bodies itself (its parsers and serializers:
            # UTF-8 only, NUL refused by every text field, files checked by the services).
            return
        if request.content_type == "application/x-www-form-urlencoded":
            # Django reads these as UTF-8 only, and refuses any other declared charset with a
            # bare BadRequest: say so.
            if encoding.lower() != "utf-8":
                raise UnreadableRequest(
                    _(
                        "The form you sent says it is in %(encoding)s; this help desk reads forms "
                        "in UTF-8 only: nothing was read or saved."
                    )
                    % {"encoding": encoding}
                )
            # request.body refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (RequestDataTooBig).
            _check_urlencoded(request.body, encoding, "The form you sent")
        elif request.content_type == "multipart/form-data":
            file_fields = RequestInputMiddleware.file_fields(request)
            if file_fields:
                # Refused before it is read: the files would go to temporary files first.
                largest = (
                    settings.ATTACHMENT_MAX_FILES * settings.ATTACHMENT_MAX_BYTES
                    + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                )
                if _content_length(request) > largest:
                    raise UnreadableRequest(
                        _(
                            "What you sent is larger than this help desk accepts (at most "
                            "%(count)d files of %(size)s each): nothing was saved."
                        )
                        % {
                            "count": settings.ATTACHMENT_MAX_FILES,
                            "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
                        }
                    )
            if not file_fields and request.FILES:
                raise UnreadableRequest(
                    _(
                        "This page does not take attachments: nothing was saved. "
                        "Attach files to a new ticket or to a reply instead."
                    )
                )
            if set(request.FILES) - file_fields:
                raise UnreadableRequest(
                    _("This form takes files in its own file field only: nothing was saved.")
                )
            if any(
                "\x00" in key or "\x00" in "".join(values) for key, values in request.POST.lists()
            ):
                raise UnreadableRequest(_NUL_MESSAGE.format(where="The form you sent"))
        elif _content_length(request) > 0:
            # JSON, text/plain, XML...: Django reads none of it, so a form would be checked as if
            # sent empty, and an empty profile form is a valid one (it would be saved).
            raise UnreadableRequest(
                _(
                    "This help desk reads web forms only, and what you sent was not one: "
                    "nothing was read or saved."
                )
            )

    @classmethod
    def file_fields(cls, request) -> set[str]:
        """The names of the file fields of the form this request is sent to (none: no files)."""
        try:
            return cls.FILE_FORMS.get(resolve(request.path_info).view_name, set())
        except Resolver404:
            return set()


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:  # Django reads no body then either
        return 0


_NUL_MESSAGE = "{where} contains a NUL character, which is not text: nothing was read or saved."


def _check_urlencoded(raw: bytes, encoding: str, where: str) -> None:
    try:
        text = unquote_to_bytes(raw).decode(encoding)
    except UnicodeDecodeError:
        raise UnreadableRequest(
            f"{where} contains characters that are not valid {encoding.upper()}: "
            "nothing was read or saved."
        ) from None
    if "\x00" in text:
        raise UnreadableRequest(_NUL_MESSAGE.format(where=where))
