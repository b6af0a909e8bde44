"""Writes of the dashboard: only its cache. The numbers themselves are read in ``selectors``."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

CACHE_SECONDS = 5 * 60


def cache_key(customer_id: int) -> str:
    return f"dashboard:v1:{customer_id}"


def invalidate(customer_id: int) -> None:
    """Forget the customer's cached dashboard once the current transaction commits (now, outside
    one): a drift run or an upload that rolls back leaves the cached numbers as they were."""
    transaction.on_commit(lambda: cache.delete(cache_key(customer_id)))
