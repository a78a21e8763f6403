"""Site-wide views: the health check, the 400 page and the CSRF failure page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found

from .celery import app as celery_app
from .middleware import UnreadableRequest, logged_path

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def broker_status() -> str:
    """ "ok" when the Celery broker answers, "error" when it does not, "none" without one (tasks
    then run in the web process)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "none"
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            # One try, no waiting between tries: a load balancer is asking.
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    except Exception as exc:
        logger.error("Health check: the broker does not answer: %s", exc.__class__.__name__)
        return "error"
    return "ok"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the cache answer, 503 otherwise. The broker is reported too: when
    it does not answer, the status is "degraded" but still 200 (pages work; mail waits in the
    outbox until it is back). No login, no personal data."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not healthy"; the reason goes to the log
        logger.error("Health check: the database does not answer: %s", exc.__class__.__name__)
        checks["database"] = "error"
    try:
        cache.set("healthz", "ok", 5)
        checks["cache"] = "ok" if cache.get("healthz") == "ok" else "error"
    except Exception as exc:
        logger.error("Health check: the cache does not answer: %s", exc.__class__.__name__)
        checks["cache"] = "error"
    healthy = all(value == "ok" for value in checks.values())
    broker = broker_status()
    if not healthy:
        status = "error"
    elif broker == "error":
        status = "degraded"
    else:
        status = "ok"
    return JsonResponse(
        {**checks, "broker": broker, "status": status}, status=200 if healthy else 503
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> object:
    logger.warning("CSRF check failed for %s %s", request.method, logged_path(request))
    return render(request, "403_csrf.html", status=403)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 400 page: what was wrong with the request, in words; never the exception's own text
    (Django's messages name settings and headers), except our own, written for people."""
    if isinstance(exception, RequestDataTooBig):
        limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        reason = _(
            "What you sent is larger than this help desk accepts (%(limit)s). Nothing was saved."
        ) % {"limit": limit}
    elif isinstance(exception, TooManyFieldsSent):
        reason = _("What you sent has more fields than any form here. Nothing was saved.")
    elif isinstance(exception, TooManyFilesSent):
        reason = _(
            "What you sent has more files than any form here takes (at most %(count)d). "
            "Nothing was saved."
        ) % {"count": settings.ATTACHMENT_MAX_FILES}
    elif isinstance(exception, UnreadableRequest):
        reason = str(exception)
    else:
        reason = _("This help desk could not read what your browser sent. Nothing was saved.")
    if request.path_info.startswith(API_PREFIX):
        # A program gets the API's error shape (api/errors.py), not a page.
        return JsonResponse({"type": "invalid", "detail": reason, "errors": {}}, status=400)
    return render(request, "400.html", {"reason": reason}, status=400)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page; under the API (an address no endpoint has), the API's error shape."""
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse(
            {"type": "not_found", "detail": "No such address in the API.", "errors": {}},
            status=404,
        )
    return page_not_found(request, exception)
