"""One log line per request: method, path, status, duration and user id (never a body)."""

from __future__ import annotations

import logging
import time

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
        # The path without its query string: a query can carry a password-reset token.
        logger.log(
            level,
            "%s %s %s %.1fms user=%s",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            user_id,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 1),
                "user_id": user_id,
            },
        )
        return response


class SessionIdleRefreshMiddleware:
    """Keep a signed-in user's session alive while they use the site (an idle timeout).

    Sessions expire SESSION_COOKIE_AGE seconds after they were last saved. Saving on every
    request would cost a write per page; this saves at most once a minute per session, so a
    session ends after SESSION_COOKIE_AGE of inactivity (give or take that minute).
    """

    REFRESH_EVERY = 60
    KEY = "_refreshed_at"

    @classmethod
    def stamp(cls, sender, request, user, **kwargs) -> None:
        """At login the session is saved anyway: stamp it then, not on the next page."""
        if hasattr(request, "session"):
            request.session[cls.KEY] = int(time.time())

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            if now - int(request.session.get(self.KEY, 0)) >= self.REFRESH_EVERY:
                request.session[self.KEY] = now
        return response
