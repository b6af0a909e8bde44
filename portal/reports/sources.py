"""What an export exports: each table's FilterSet (the very one its portal page and API list use,
so an export holds exactly the rows the page showed), its columns and its rows."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace

import django_filters
from django.db.models import QuerySet

from portal.accounts.models import Customer
from portal.alerts.filters import AlertFilter
from portal.alerts.selectors import ACTIVE
from portal.claims import selectors as claim_selectors
from portal.core.exceptions import DomainError
from portal.reports.models import ReportKind

CHUNK = 2000  # rows per server-side cursor fetch: memory stays flat for any table size

# Querystring parameters of a table page that are not filters (paging, sorting, this module's own).
NOT_FILTERS = {"page", "page_size", "sort", "ordering", "table", "customer", "format"}
MAX_VALUE_CHARS = 200


# -- the tables -----------------------------------------------------------------------------------


def _claims(customer: Customer) -> QuerySet:
    return claim_selectors.claim_list(customer=customer)


def _drift_events(customer: Customer) -> QuerySet:
    from portal.drift.selectors import drift_event_list

    return drift_event_list(customer=customer)


def _alerts(customer: Customer) -> QuerySet:
    from portal.alerts.selectors import alert_list

    return alert_list(customer=customer)


def _claims_filter():
    from portal.claims.filters import ClaimFilter

    return ClaimFilter


def _drift_filter():
    from portal.drift.filters import DriftEventFilter

    return DriftEventFilter


DRIFT_EVENT_COLUMNS = [
    ("event_id", "id"),
    ("payer", "payer__name"),
    ("cpt_group", "cpt_group"),
    ("drift_type", "drift_type"),
    ("direction", "direction"),
    ("severity", "severity"),
    ("label", "label"),
    ("baseline_value", "baseline_value"),
    ("current_value", "current_value"),
    ("delta", "delta"),
    ("relative_delta", "relative_delta"),
    ("baseline_n", "baseline_n"),
    ("current_n", "current_n"),
    ("p_value", "p_value"),
    ("q_value", "q_value"),
    ("test", "test"),
    ("revenue_impact", "revenue_impact"),
    ("reason_code", "reason_code"),
    ("baseline_start", "baseline_start"),
    ("baseline_end", "baseline_end"),
    ("current_start", "current_start"),
    ("current_end", "current_end"),
]
ALERT_COLUMNS = [
    ("alert_id", "id"),
    ("created_at", "created_at"),
    ("rule", "rule_name"),
    ("payer", "payer__name"),
    ("drift_type", "drift_type"),
    ("severity", "severity"),
    ("label", "label"),
    ("status", "status"),
    ("suppressed", "suppressed"),
    ("suppressed_reason", "suppressed_reason"),
    ("acknowledged_at", "acknowledged_at"),
    ("resolved_at", "resolved_at"),
    ("drift_event_id", "event_id"),
]


@dataclass(frozen=True)
class Source:
    table: str  # the name used in ?table= (portal) and file names
    title: str
    queryset: Callable[[Customer], QuerySet]
    filterset_class: Callable[[], type[django_filters.FilterSet]]
    columns: list[tuple[str, str]]  # (header, values_list lookup)

    @property
    def headers(self) -> list[str]:
        return [name for name, _ in self.columns]

    def rows(self, queryset: QuerySet) -> Iterator[tuple]:
        """Plain tuples, streamed from a server-side cursor."""
        lookups = [lookup for _, lookup in self.columns]
        return queryset.values_list(*lookups).iterator(chunk_size=CHUNK)


class AlertExportFilter(AlertFilter):
    """The alerts table's FilterSet plus its tab: "active" exports what the Active tab shows."""

    tab = django_filters.ChoiceFilter(
        choices=[("active", "Active"), ("all", "All")], method="filter_tab", empty_label="All"
    )

    def filter_tab(self, queryset, name, value):
        return queryset.filter(ACTIVE) if value == "active" else queryset


SOURCES: dict[str, Source] = {
    ReportKind.CLAIMS_EXPORT: Source(
        "claims", "Claims", _claims, _claims_filter, claim_selectors.CLAIM_EXPORT_COLUMNS
    ),
    ReportKind.DRIFT_EVENTS_EXPORT: Source(
        "drift_events", "Drift events", _drift_events, _drift_filter, DRIFT_EVENT_COLUMNS
    ),
    ReportKind.ALERTS_EXPORT: Source(
        "alerts", "Alerts", _alerts, lambda: AlertExportFilter, ALERT_COLUMNS
    ),
}
KIND_BY_TABLE = {source.table: kind for kind, source in SOURCES.items()}


def filterset(*, kind: str, customer: Customer, filters: Mapping[str, str]):
    """The table's FilterSet, bound to ``filters``, over the customer's rows."""
    source = SOURCES[kind]
    cls = source.filterset_class()
    queryset = source.queryset(customer)
    if "customer" in inspect.signature(cls.__init__).parameters:
        return cls(dict(filters), queryset=queryset, customer=customer)
    request = SimpleNamespace(payerwatch_customer=customer, user=None)
    return cls(dict(filters), queryset=queryset, request=request)


def clean_filters(*, kind: str, customer: Customer, filters: Mapping[str, object]) -> dict:
    """The filters worth keeping (known names, non-empty values), checked by the FilterSet.

    Raises ``DomainError`` (field ``filters``) for an unknown filter or a value the FilterSet
    refuses: an export never holds more rows than asked for because a filter did not parse.
    """
    if kind not in SOURCES:
        return {}
    known = set(SOURCES[kind].filterset_class().base_filters)
    cleaned: dict[str, str] = {}
    for name, value in filters.items():
        if name in NOT_FILTERS:
            continue
        if name not in known:
            raise DomainError(
                f"Unknown filter {str(name)[:40]!r}; this table filters by "
                f"{', '.join(sorted(known))}.",
                field="filters",
            )
        if isinstance(value, bool | list | dict):
            raise DomainError(f"The filter {name!r} takes one text value.", field="filters")
        text = "" if value is None else str(value)
        if "\x00" in text:
            raise DomainError("Filter values cannot contain NUL characters.", field="filters")
        if len(text) > MAX_VALUE_CHARS:
            raise DomainError(
                f"The filter {name!r} is longer than {MAX_VALUE_CHARS} characters.",
                field="filters",
            )
        if text.strip():
            cleaned[name] = text
    bound = filterset(kind=kind, customer=customer, filters=cleaned)
    if not bound.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in bound.errors.items())
        raise DomainError(f"Invalid filters: {errors}", field="filters")
    return cleaned
