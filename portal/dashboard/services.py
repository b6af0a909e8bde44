"""Writes of the dashboard: only its cache. The numbers themselves are read in ``selectors``."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

CACHE_SECONDS = 5 * 60


def _generation_key(customer_id: int) -> str:
    return f"dashboard:generation:{customer_id}"


def cache_key(customer_id: int) -> str:
    """Where the customer's dashboard of the current generation is cached.

    Invalidating starts a new generation instead of deleting one key: a dashboard that was being
    computed while a run finished is stored under the old generation, which nobody reads again,
    so it can never put stale numbers back in front of people.
    """
    generation = cache.get(_generation_key(customer_id), 0)
    return f"dashboard:v2:{customer_id}:{generation}"


def invalidate(customer_id: int) -> None:
    """Forget the customer's cached dashboard once the current transaction commits (now, outside
    one): a drift run or an upload that rolls back leaves the cached numbers as they were."""

    def next_generation() -> None:
        key = _generation_key(customer_id)
        cache.add(key, 0, timeout=None)
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr: any new value will do
            cache.set(key, 1, timeout=None)

    transaction.on_commit(next_generation)
