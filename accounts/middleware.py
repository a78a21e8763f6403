"""The session's idle timeout, and the end of a login's place in the lock-out's count."""

from __future__ import annotations

import time

from .lockout import give_place_back


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
        session = getattr(request, "session", None)
        # A session that exists: a request signed in by an API token has none, and must not
        # get one (a new session row for every request of a program).
        if user is not None and user.is_authenticated and session and session.session_key:
            now = int(time.time())
            if now - int(request.session.get(self.KEY, 0)) >= self.REFRESH_EVERY:
                request.session[self.KEY] = now
        return response


class LoginCheckMiddleware:
    """Gives back, at the end of the request, the place a login took in the lock-out's count
    (accounts/lockout.py) when it ended as neither a failure nor a login: the admin refusing a
    customer whose password was right, an account whose email address is not confirmed yet."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            give_place_back(request)
