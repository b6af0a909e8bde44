"""The customer's cache of numbers derived from claims and runs: the dashboard and the payer
summaries. Writes here are only to the cache; the numbers themselves are read in selectors.

Every entry belongs to the customer's current *generation*. Uploads, drift runs, payer aliases
and CPT groups start a new one when they commit (``invalidate``) instead of deleting keys: a
page computed while a run finished is stored under the old generation, which nobody reads again,
so it can never put stale numbers back in front of people.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.query import ModelIterable

CACHE_SECONDS = 5 * 60
_MISSING = object()


def _generation_key(customer_id: int) -> str:
    return f"dashboard:generation:{customer_id}"


def _generation(customer_id: int) -> int:
    return cache.get(_generation_key(customer_id), 0)


def cache_key(customer_id: int) -> str:
    """Where the customer's dashboard of the current generation is cached."""
    return f"dashboard:v2:{customer_id}:{_generation(customer_id)}"


def invalidate(customer_id: int) -> None:
    """Forget the customer's cached numbers once the current transaction commits (now, outside
    one): a drift run or an upload that rolls back leaves the cached numbers as they were."""

    def next_generation() -> None:
        key = _generation_key(customer_id)
        cache.add(key, 0, timeout=None)
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr: any new value will do
            cache.set(key, 1, timeout=None)

    transaction.on_commit(next_generation)


def remember[T](customer_id: int, name: str, parts: object, compute: Callable[[], T]) -> T:
    """``compute()``, kept ``CACHE_SECONDS`` for the customer's current generation under
    ``name`` and ``parts`` (anything with a stable ``repr``: the question's parameters)."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    key = f"{name}:{customer_id}:{_generation(customer_id)}:{digest}"
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


class CachedQuerySet(QuerySet):
    """A queryset whose rows are read through ``remember``, keyed by its SQL and parameters:
    every sort, filter and page of a summary has its entry, and the count and the page of
    ``EvaluatedPaginator`` come from the same rows. Only for model rows without prefetches."""

    customer_id: int | None = None

    def _clone(self):
        clone = super()._clone()
        clone.customer_id = self.customer_id
        return clone

    def _fetch_all(self):
        if (
            self._result_cache is None
            and self.customer_id is not None
            and self._iterable_class is ModelIterable
            and not self._prefetch_related_lookups
        ):
            sql, params = self.query.sql_with_params()
            self._result_cache = remember(
                self.customer_id, "rows", (self.model._meta.label, sql, params), self._rows
            )
        super()._fetch_all()

    def _rows(self) -> list:
        return list(self._iterable_class(self))


def cached_rows(queryset: QuerySet, *, customer_id: int) -> CachedQuerySet:
    """``queryset`` (and whatever is chained to it) read through the customer's cache."""
    cached = CachedQuerySet(
        model=queryset.model, query=queryset.query.chain(), using=queryset._db,
        hints=queryset._hints,
    )  # fmt: skip
    cached.customer_id = customer_id
    return cached
