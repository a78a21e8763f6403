"""The login lock-out's count and check, as one step.

django-axes refuses a login when the failures counted for its username and address reach the
limit, and counts a failure after the password was checked. Between the two, every login sent
at the same moment passed the check: fifty at once had 8 wrong passwords tried (and a right one
let in) against a limit of 5. So each login takes its place first, in one locked row per
username and address (LoginCheck): a login is let through only if the failures counted so far
plus the logins still being checked, itself included, stay within the limit. The place is given
back once the login has ended, as a failure axes has counted or a success, or, whatever
happened, at the end of the request (LoginCheckMiddleware).

The handlers are axes' own (counts in the database, or in the cache with REDIS_URL), extended
through AXES_HANDLER, the setting axes documents for it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from axes.handlers.cache import AxesCacheHandler
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from .models import LoginCheck

# A login takes well under a second (gunicorn stops a request after 30): a place held longer was
# left by a server stopped in the middle of one.
STALE_AFTER = timedelta(minutes=5)


def _key(request: HttpRequest, credentials: dict | None) -> str:
    username = get_client_username(request, credentials) or ""
    address = request.axes_ip_address or ""
    return hashlib.sha256(f"{username}\n{address}".encode()).hexdigest()


# How many times a login looks for its row again when another made and removed it meanwhile.
PLACE_TRIES = 10


def take_place(key: str) -> int:
    """Count one more login being checked under `key`; returns how many there are now.

    The row is made by the first login of a burst and removed by the last one out: between
    this login's look (no row) and its insert, another can make the row and be done with it
    (its insert wins, then its give_place_back removes it), so the insert collides with a row
    that is gone by the time get_or_create looks again, and raises IntegrityError. That is
    only a lost race: look again (fifty wrong passwords at once met it on PostgreSQL)."""
    for _ in range(PLACE_TRIES - 1):
        try:
            return _take_place(key)
        except IntegrityError:
            continue
    return _take_place(key)


def _take_place(key: str) -> int:
    with transaction.atomic():
        check, _created = LoginCheck.objects.select_for_update().get_or_create(key=key)
        if check.updated_at < timezone.now() - STALE_AFTER:
            check.in_progress = 0
        check.in_progress += 1
        check.save(update_fields=["in_progress", "updated_at"])
    return check.in_progress


def give_place_back(request: HttpRequest) -> None:
    """The login of this request has ended: it no longer counts as being checked. Once only."""
    key = getattr(request, "login_check_key", None)
    if key is None:
        return
    request.login_check_key = None
    LoginCheck.objects.filter(key=key, in_progress__gt=0).update(in_progress=F("in_progress") - 1)
    # The last one out removes the row (a login taking its place meanwhile holds it locked).
    LoginCheck.objects.filter(key=key, in_progress=0).delete()


class AtomicLockoutMixin:
    """For an axes handler: the count and the check in one step (module docstring)."""

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        if not settings.AXES_LOCK_OUT_AT_FAILURE:
            return False
        give_place_back(request)  # a second check in one request takes one place, not two
        key = _key(request, credentials)
        in_progress = take_place(key)
        request.login_check_key = key
        failures = self.get_failures(request, credentials)
        locked = failures + in_progress - 1 >= get_failure_limit(request, credentials)
        if locked:
            give_place_back(request)
            # The lock-out page, as axes' handlers ask for it, also when it is the logins being
            # checked (not yet the failures) that reach the limit.
            request.axes_locked_out = True
            request.axes_credentials = credentials
        return locked

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        # Counted as a failure first, then no longer as being checked: never neither.
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None:
            give_place_back(request)

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        if request is not None:
            give_place_back(request)


class DatabaseHandler(AtomicLockoutMixin, AxesDatabaseHandler):
    """axes' handler that keeps the failures in the database (without REDIS_URL)."""


class CacheHandler(AtomicLockoutMixin, AxesCacheHandler):
    """axes' handler that keeps the failures in the cache (with REDIS_URL)."""
