"""Personal API tokens: "Authorization: Bearer hd_<prefix>_<secret>" (accounts.models.ApiToken)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.services import api_token_user


class TokenAuthentication(authentication.BaseAuthentication):
    """A request with a Bearer token acts as the token's user, with exactly their rights. A
    request without one is left to the next scheme (the session); a bad token is a 401."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as “Authorization: Bearer hd_…”, with nothing else."
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("That is not a token.") from None
        found = api_token_user(raw)
        if found is None:
            raise exceptions.AuthenticationFailed(
                "That token does not open the API: it is unknown, revoked or expired, or its "
                "account is deactivated."
            )
        return found

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (hd_…), made on your profile page.",
        }
