"""Site-wide views: the health check and the CSRF failure page."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database (and the cache) answer, 503 otherwise. No login, no personal data."""
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
    return JsonResponse(
        {**checks, "status": "ok" if healthy else "error"}, status=200 if healthy else 503
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> object:
    logger.warning("CSRF check failed for %s %s", request.method, request.path)
    return render(request, "403_csrf.html", status=403)
