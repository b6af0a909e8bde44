"""API permissions ask the same question the portal asks: the role's guardian permission on the
request's customer (``accounts/roles.py``). A read-scoped token also refuses unsafe methods."""

from __future__ import annotations

from rest_framework import permissions

from portal.accounts.models import ApiToken, TokenScope


class CustomerPermission(permissions.BasePermission):
    """Needs ``view.read_permission`` for safe methods and ``view.write_permission`` otherwise."""

    message = "Your role at this customer does not allow this."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        safe = request.method in permissions.SAFE_METHODS
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and not safe and token.scope != TokenScope.WRITE:
            self.message = "This token has read scope; writing needs a token with write scope."
            return False
        perm = view.get_required_permission(request)
        allowed = request.user.has_perm(perm, view.customer)
        if not allowed:
            self.message = "Your role at this customer does not allow this."
        return allowed
