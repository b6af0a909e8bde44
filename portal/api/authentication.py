"""``Authorization: Bearer <token>`` with per-customer API tokens (PRODUCT §9)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from portal.accounts.services import api_token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, plain = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        plain = plain.strip()
        if not plain or " " in plain:
            raise exceptions.AuthenticationFailed("Malformed bearer token.")
        token = api_token_authenticate(plain=plain)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
