"""Scoped throttles: each expensive action has its own rate (settings.REST_FRAMEWORK).

DRF answers 429 with ``Retry-After``; the error body is the standard one."""

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle


class ScopedThrottle(ScopedRateThrottle):
    """Like DRF's, but for writes only, keyed by customer and user (one customer cannot starve
    another), with the rates read from the settings at request time."""

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        customer = getattr(view, "customer", None)
        ident = request.user.pk if request.user and request.user.is_authenticated else None
        ident = ident or self.get_ident(request)
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{customer.pk if customer else '-'}:{ident}",
        }
