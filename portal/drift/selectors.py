"""Reads of the drift app. Every read takes the customer (or an object already scoped to one)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.db.models import QuerySet

from portal.accounts.models import Customer
from portal.claims.models import Claim
from portal.drift.detectors import DriftType
from portal.drift.models import DriftEvent, DriftRun, RunStatus

# -- runs -----------------------------------------------------------------------------------------


def drift_run_list(*, customer: Customer) -> QuerySet[DriftRun]:
    """The customer's runs, newest first, with who asked for them."""
    return (
        DriftRun.objects.filter(customer=customer)
        .select_related("requested_by")
        .order_by("-created_at", "-id")
    )


def drift_run_get(*, customer: Customer, pk: int) -> DriftRun:
    """One run of the customer, or ``DriftRun.DoesNotExist`` (another customer's is a 404)."""
    return drift_run_list(customer=customer).get(pk=pk)


def latest_succeeded_run(*, customer: Customer) -> DriftRun | None:
    return drift_run_list(customer=customer).filter(status=RunStatus.SUCCEEDED).first()


# -- events ---------------------------------------------------------------------------------------


def drift_event_list(*, customer: Customer) -> QuerySet[DriftEvent]:
    """The customer's events, most recent window and most severe first, with their payer."""
    return (
        DriftEvent.objects.filter(customer=customer)
        .select_related("payer")
        .order_by("-current_end", "-severity", "-id")
    )


def drift_event_get(*, customer: Customer, pk: int) -> DriftEvent:
    return drift_event_list(customer=customer).get(pk=pk)


def active_events(*, customer: Customer) -> QuerySet[DriftEvent]:
    """The events of the latest succeeded run's current window (none before a first run)."""
    run = latest_succeeded_run(customer=customer)
    if run is None or run.current_start is None:
        return DriftEvent.objects.none()
    return drift_event_list(customer=customer).filter(
        current_start=run.current_start, current_end=run.current_end
    )


# -- the weekly series of an event ----------------------------------------------------------------

_SERIES_SQL = """
SELECT date_trunc('week', decided_date)::date AS week,
       count(*) AS decided,
       count(*) FILTER (WHERE outcome = 'DENIED') AS denied,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY decided_date - submitted_date) AS median_days,
       coalesce(sum(billed_amount) FILTER (WHERE outcome = 'DENIED'), 0) AS denied_billed,
       avg(allowed_amount) FILTER (WHERE outcome = 'PAID') AS mean_allowed,
       count(*) FILTER (
           WHERE outcome = 'DENIED' AND upper(btrim(denial_reason_code)) = %(reason)s
       ) AS reason_denied
  FROM {table}
 WHERE customer_id = %(customer)s AND payer_id = %(payer)s {group}
   AND outcome <> 'PENDING'
   AND decided_date BETWEEN %(start)s AND %(end)s
 GROUP BY 1
 ORDER BY 1
"""


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def event_weekly_series(*, event: DriftEvent) -> list[tuple[date, float | None]]:
    """The event's metric per week (Monday) of decision over its baseline and current windows,
    from one grouped query over the segment's decided claims. A week without the claims the
    metric needs has ``None``. Partial weeks at the span's ends count only their days inside it
    (denial dollars per day)."""
    start, end = event.baseline_start, event.current_end
    params = {
        "customer": event.customer_id,
        "payer": event.payer_id,
        "start": start,
        "end": end,
        "reason": (event.reason_code or "").strip().upper(),
    }
    group = ""
    if event.cpt_group != "ALL":
        group = "AND cpt_group = %(group)s"
        params["group"] = event.cpt_group
    sql = _SERIES_SQL.format(table=Claim._meta.db_table, group=group)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = {row[0]: row[1:] for row in cursor.fetchall()}

    series: list[tuple[date, float | None]] = []
    week = _week_start(start)
    while week <= end:
        days = (min(week + timedelta(days=6), end) - max(week, start)).days + 1
        row = rows.get(week)
        series.append((week, _metric(event, row, days) if row else None))
        week += timedelta(days=7)
    return series


def _metric(event: DriftEvent, row: tuple, days: int) -> float | None:
    decided, denied, median_days, denied_billed, mean_allowed, reason_denied = row
    kind = event.drift_type
    if kind == DriftType.DENIAL_RATE:
        return denied / decided if decided else None
    if kind == DriftType.DECISION_TIME:
        return float(median_days) if median_days is not None else None
    if kind == DriftType.DENIAL_DOLLARS:
        return float(denied_billed) / days
    if kind == DriftType.PAYMENT_AMOUNT:
        return float(mean_allowed) if mean_allowed is not None else None
    if kind == DriftType.NEW_DENIAL_REASON:
        return reason_denied / denied if denied else None
    return None
