"""Keyset paging for the big lists (claims, uploads, rejected rows, drift, audit): page 5,000 costs
what page 1 costs (PRODUCT §12), whatever the sort order.

1. The *keys* of a page are the queryset's ordering, with the primary key appended as the last
   tiebreak (``-submitted_date, -id``), so every row has exactly one place.
2. A *cursor* carries the keys' values of one row (the last row of a page for "next", the first
   for "previous"), the direction, the ordering it was made for and the page number it leads to.
   It is signed (opaque, tamper-proof): a cursor never reaches SQL unless we wrote it.
3. "After row r" is one row comparison ``(submitted_date, id) < (%s, %s)`` when it can be — an
   index range condition, so PostgreSQL starts reading at the cursor instead of counting its way
   there (no OFFSET). NULLs follow PostgreSQL's default order (last ascending, first descending),
   and where a NULL can sit among the keys the condition is spelled out key by key.
4. "Before row r" is "after r" in the reversed order; the rows are read reversed and turned round.
5. The count is capped (``COUNT_LIMIT``): ``SELECT count(*) FROM (… LIMIT 10001)`` reads at most
   10,001 index entries, never the customer's million claims. Up to the cap it is exact.
6. ``page=N`` (an OFFSET) keeps working for the pages a person clicks (PRODUCT §9); every
   "next"/"previous" link carries a cursor, so following links never pays an OFFSET.

Every page is two queries, whatever its depth or size: the capped count and the rows (one more
than the page, which tells whether a next page exists).
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import Expression, OrderBy, Value

COUNT_LIMIT = 10_000
SALT = "payerwatch.keyset"
MAX_OFFSET = 2**62  # PostgreSQL takes OFFSET as a bigint


class InvalidCursor(Exception):
    """A cursor we did not write, or one made for another sort order."""


@dataclass(frozen=True)
class Key:
    """One term of a list's order: a field path (``payer__name``), its direction, whether it can
    hold NULL, and the model field that parses its cursor value back."""

    path: str
    descending: bool
    nullable: bool
    field: models.Field

    @property
    def order(self) -> str:
        return f"-{self.path}" if self.descending else self.path

    def flipped(self) -> Key:
        return Key(self.path, not self.descending, self.nullable, self.field)


def _resolve(model: type[models.Model], path: str) -> tuple[models.Field, bool]:
    """The model field at the end of ``path`` and whether any step of it can be NULL."""
    nullable = False
    parts = path.split("__")
    for i, part in enumerate(parts):
        try:
            fld = model._meta.get_field(part)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(f"Keyset paging cannot order by {path!r}.") from None
        if not getattr(fld, "concrete", False) or fld.many_to_many or fld.one_to_many:
            raise ImproperlyConfigured(f"Keyset paging cannot order by {path!r}.")
        nullable = nullable or fld.null
        if i < len(parts) - 1:
            if not fld.is_relation:
                raise ImproperlyConfigured(f"Keyset paging cannot order by {path!r}.")
            model = fld.related_model
        elif fld.is_relation:  # ordering by a foreign key is ordering by its column
            fld = fld.target_field
    return fld, nullable


def ordering_keys(queryset: QuerySet) -> list[Key]:
    """The keys of ``queryset``'s order (its ``order_by``, else the model's), primary key last."""
    model = queryset.model
    terms = list(queryset.query.order_by or model._meta.ordering or [])
    keys: list[Key] = []
    for term in terms:
        if isinstance(term, OrderBy) and isinstance(term.expression, F):
            if term.nulls_first or term.nulls_last:
                raise ImproperlyConfigured("Keyset paging keeps PostgreSQL's NULL order.")
            path, descending = term.expression.name, term.descending
        elif isinstance(term, str) and term != "?":
            path, descending = term.lstrip("-"), term.startswith("-")
        else:
            raise ImproperlyConfigured(f"Keyset paging cannot order by {term!r}.")
        if path == "pk":
            path = model._meta.pk.name
        fld, nullable = _resolve(model, path)
        keys.append(Key(path, descending, nullable, fld))
        if fld.primary_key and "__" not in path:
            return keys  # unique: later terms never decide
    pk = model._meta.pk
    keys.append(Key(pk.name, keys[-1].descending if keys else False, False, pk))
    return keys


# -- cursors --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _signature(keys: list[Key]) -> str:
    return ",".join(key.order for key in keys)


@dataclass(frozen=True)
class Cursor:
    values: list[Any]
    backward: bool
    number: int


def encode(keys: list[Key], values: list[Any], *, backward: bool, number: int) -> str:
    payload = {
        "o": _signature(keys),
        "v": [_plain(value) for value in values],
        "b": int(backward),
        "n": number,
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def decode(token: str, keys: list[Key]) -> Cursor:
    try:
        payload = signing.loads(token, salt=SALT)
        if payload["o"] != _signature(keys) or len(payload["v"]) != len(keys):
            raise InvalidCursor("This cursor belongs to another sort order.")
        values = [
            None if raw is None else key.field.to_python(raw)
            for key, raw in zip(keys, payload["v"], strict=True)
        ]
        return Cursor(values, bool(payload["b"]), max(1, int(payload["n"])))
    except (signing.BadSignature, KeyError, TypeError, ValueError, ValidationError) as exc:
        raise InvalidCursor("Invalid cursor.") from exc


def row_values(keys: list[Key], record: Any) -> list[Any]:
    values = []
    for key in keys:
        value = record
        for part in key.path.split("__"):
            fld = value._meta.get_field(part)
            value = getattr(value, fld.attname if fld.is_relation and part == key.path else part)
            if value is None:
                break
        values.append(value)
    return values


# -- the condition "after this row" ---------------------------------------------------------------


class RowCompare(Expression):
    """``(a, b, …) < (%s, %s, …)``: one comparison PostgreSQL turns into an index range."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, keys: list[Key], values: list[Any], operator: str):
        super().__init__(output_field=models.BooleanField())
        self.lhs = [F(key.path) for key in keys]
        self.rhs = [Value(v, output_field=key.field) for key, v in zip(keys, values, strict=True)]
        self.operator = operator

    def get_source_expressions(self):
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs):
        n = len(self.lhs)
        self.lhs, self.rhs = list(exprs[:n]), list(exprs[n:])

    def as_sql(self, compiler, connection):
        sql, params = [], []
        for side in (self.lhs, self.rhs):
            parts = []
            for expr in side:
                part, part_params = compiler.compile(expr)
                parts.append(part)
                params.extend(part_params)
            sql.append(f"({', '.join(parts)})")
        return f"{sql[0]} {self.operator} {sql[1]}", params


def after(keys: list[Key], values: list[Any]):
    """Rows strictly after ``values`` in the order of ``keys`` (PostgreSQL's NULL order)."""
    descending = {key.descending for key in keys}
    if len(descending) == 1 and None not in values:
        operator = "<" if keys[0].descending else ">"
        # Descending puts NULLs first, so they are never after a non-NULL row: the comparison
        # (NULL → not true) already leaves them out. Ascending puts them last: add them back.
        if keys[0].descending or not any(key.nullable for key in keys):
            return RowCompare(keys, values, operator)
        if not any(key.nullable for key in keys[1:]):
            return RowCompare(keys, values, operator) | Q(**{f"{keys[0].path}__isnull": True})
    key, value, rest = keys[0], values[0], keys[1:]
    if value is None:
        equal = Q(**{f"{key.path}__isnull": True})
        beyond = Q(**{f"{key.path}__isnull": False}) if key.descending else None
    else:
        equal = Q(**{key.path: value})
        beyond = Q(**{f"{key.path}__{'lt' if key.descending else 'gt'}": value})
        if key.nullable and not key.descending:
            beyond |= Q(**{f"{key.path}__isnull": True})
    if not rest:
        return beyond if beyond is not None else Q(pk__in=[])
    tail = equal & after(rest, values[1:])
    return tail if beyond is None else beyond | tail


# -- one page -------------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a keyset-paged list, and the cursors to its neighbours."""

    object_list: list
    number: int
    count: int  # exact when ``count_exact``, else COUNT_LIMIT (there are more)
    count_exact: bool
    per_page: int
    has_next: bool
    has_previous: bool
    next_cursor: str | None = None
    previous_cursor: str | None = None  # None with has_previous: the previous page is page 1
    keys: list[Key] = field(default_factory=list, repr=False)

    @property
    def num_pages(self) -> int | None:
        if not self.count_exact:
            return None
        return max(1, -(-self.count // self.per_page))

    def __len__(self) -> int:
        return len(self.object_list)


# How long "more than COUNT_LIMIT rows" is remembered for a list of an append-only model
CAPPED_SECONDS = 10 * 60


def capped_count(queryset: QuerySet, limit: int | None = None) -> tuple[int, bool]:
    """How many rows match, reading at most ``limit + 1`` of them: ``(count, exact)``.

    A model that only ever gains rows (``append_only = True``: the audit log, whose rows the
    database refuses to change or delete) keeps every list's count growing: once a list has
    more than ``limit`` rows it still has them later, so that answer is remembered for a while
    instead of reading ``limit + 1`` rows again on every page."""
    limit = COUNT_LIMIT if limit is None else limit
    counted = queryset.select_related(None).order_by()[: limit + 1]
    key = None
    if getattr(queryset.model, "append_only", False):
        sql, params = counted.query.sql_with_params()
        digest = hashlib.sha256(repr((sql, params)).encode()).hexdigest()[:32]
        key = f"keyset:capped:{queryset.model._meta.label}:{limit}:{digest}"
        if cache.get(key):
            return limit, False
    count = counted.count()
    if count <= limit:
        return count, True
    if key is not None:
        cache.set(key, True, CAPPED_SECONDS)
    return limit, False


def page(queryset: QuerySet, *, per_page: int, cursor: str | None = None, number: int = 1) -> Page:
    """The page a cursor points to, else page ``number`` (an OFFSET: meant for the first pages).

    Raises ``InvalidCursor`` for a cursor we did not write for this order."""
    keys = ordering_keys(queryset)
    forward = [key.order for key in keys]
    count, exact = capped_count(queryset)
    if cursor:
        position = decode(cursor, keys)
        number = position.number
        if position.backward:
            reverse = [key.flipped() for key in keys]
            rows = list(
                queryset.filter(after(reverse, position.values)).order_by(
                    *(key.order for key in reverse)
                )[: per_page + 1]
            )
            has_previous = len(rows) > per_page
            rows = rows[:per_page][::-1]
            has_next = True
            if not has_previous:
                number = 1
        else:
            rows = list(
                queryset.filter(after(keys, position.values)).order_by(*forward)[: per_page + 1]
            )
            has_next = len(rows) > per_page
            rows = rows[:per_page]
            has_previous = True
    else:
        number = max(1, number)
        offset = (number - 1) * per_page
        # a page past any list there can be (PostgreSQL's OFFSET is a bigint): simply empty
        rows = (
            list(queryset.order_by(*forward)[offset : offset + per_page + 1])
            if offset < MAX_OFFSET
            else []
        )
        has_next = len(rows) > per_page
        rows = rows[:per_page]
        has_previous = number > 1
    result = Page(rows, number, count, exact, per_page, has_next, has_previous, keys=keys)
    if has_next and rows:
        result.next_cursor = encode(
            keys, row_values(keys, rows[-1]), backward=False, number=number + 1
        )
    if has_previous and rows and number > 2:
        result.previous_cursor = encode(
            keys, row_values(keys, rows[0]), backward=True, number=number - 1
        )
    return result
