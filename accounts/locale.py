"""The reader's language and time zone: chosen per request, and put around each email.

The language of a page: the signed-in person's profile language, else the footer's choice (the
language cookie), else the browser's Accept-Language, else English. LocaleMiddleware does all
but the first; UserLocaleMiddleware, once the user is known, puts their own language and time
zone over it. An email is rendered in its recipient's (`for_reader`).
"""

from __future__ import annotations

import zoneinfo
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings
from django.utils import timezone, translation


@lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone of an IANA name (a profile's), or None for a blank or unknown one."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def supported_language(code: str) -> str | None:
    return code if code in dict(settings.LANGUAGES) else None


class UserLocaleMiddleware:
    """Activates a signed-in person's own language and time zone for the request (after
    LocaleMiddleware and AuthenticationMiddleware). Reads the user the page loads anyway: no
    query of its own, and none at all for a visitor without a session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        tz = None
        if user is not None and user.is_authenticated:
            language = supported_language(getattr(user, "language", ""))
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
            tz = zone(getattr(user, "time_zone", ""))
        if tz is not None:
            timezone.activate(tz)
        else:
            timezone.deactivate()  # the site's TIME_ZONE
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


@contextmanager
def for_reader(user):
    """Render inside this for `user` (None: an address of no user): their language and time
    zone, else the site's (LANGUAGE_CODE, TIME_ZONE), whatever the request's are."""
    language = supported_language(getattr(user, "language", "") or "") or settings.LANGUAGE_CODE
    tz = zone(getattr(user, "time_zone", "") or "")
    with translation.override(language), timezone.override(tz or timezone.get_default_timezone()):
        yield
