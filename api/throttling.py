"""Requests per minute in the shared cache: per token, per signed-in user (the session), per
client address when not signed in; search has its own, tighter, count (API_THROTTLE_RATES)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.client_address import client_address
from accounts.models import ApiToken


class ApiThrottle(SimpleRateThrottle):
    scope = "user"

    def __init__(self):
        # The rate is chosen per request (allow_request), from the settings of the moment.
        self.rate = None

    def scope_for(self, request) -> str:
        return self.scope if request.user.is_authenticated else "anon"

    def allow_request(self, request, view) -> bool:
        self.rate = settings.API_THROTTLE_RATES[self.scope_for(request)]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiToken):
            who = f"token:{request.auth.pk}"
        elif request.user.is_authenticated:
            who = f"user:{request.user.pk}"
        else:
            who = f"address:{client_address(request)}"
        return f"api-throttle:{self.scope_for(request)}:{who}"


class SearchThrottle(ApiThrottle):
    """The list with `q`: a search costs more than a page of the list."""

    scope = "search"

    def scope_for(self, request) -> str:
        return "search" if request.user.is_authenticated else "anon"


class ThrottledFirst:
    # A view mix-in: the throttles are checked right after authentication, before the
    # permissions (DRF checks them last), so a request refused as unauthenticated, or sent with
    # a token that does not work, still counts (per client address) and cannot be repeated
    # freely. A comment, not a docstring: drf-spectacular would print a docstring here as the
    # description of every operation in the API's documentation.

    def perform_authentication(self, request) -> None:
        try:
            super().perform_authentication(request)
        finally:
            self.check_throttles(request)

    def check_throttles(self, request) -> None:
        if getattr(self, "throttles_checked", False):
            return  # DRF's initial() asks again after the permissions
        self.throttles_checked = True
        super().check_throttles(request)
