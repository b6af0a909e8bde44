"""The customer dashboard's numbers (PRODUCT §8): KPIs, the weekly denial rate of the top payers,
the newest drift and the recent uploads.

A fixed number of queries whatever the data size: one grouped query for the claim KPIs, one for
the top payers' weekly series, and one small query each for the runs, events, uploads, alerts and
recovered dollars. The claim queries read the covering index ``claim_payer_decided_cover``
(customer, payer, decided_date INCLUDE outcome, submitted_date, …) and the
``claim_customer_submitted`` index; Python sees a few aggregate rows, never one row per claim.

Rates are by *decision* date (decided claims, PENDING excluded), like detection: submission-date
windows are right-censored and look denial-heavy while payments are still outstanding.

``dashboard()`` is cached for five minutes per customer (``services.cache_key``); drift runs and
uploads forget it when they finish (``services.invalidate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Value, When
from django.utils import timezone

from portal.accounts.models import Customer
from portal.alerts.selectors import open_alert_count, recovered_totals
from portal.claims.models import Claim, Payer
from portal.claims.selectors import upload_list
from portal.dashboard.services import CACHE_SECONDS, cache_key
from portal.drift.selectors import drift_event_list, drift_run_list
from portal.drift.tables import format_delta, format_value

WINDOW_DAYS = 30
CHART_WEEKS = 16
TOP_PAYERS = 5
NEWEST_EVENTS = 8
RECENT_UPLOADS = 5


@dataclass(frozen=True)
class Kpis:
    decided: int  # decided in the last 30 days
    submitted: int  # submitted in the last 30 days
    denied: int
    denial_rate: float | None
    previous_decided: int  # decided in the 30 days before those
    previous_denial_rate: float | None
    median_days: float | None  # submission → decision, claims decided in the last 30 days
    previous_median_days: float | None

    @property
    def denial_rate_change(self) -> float | None:
        """Percentage points (as a fraction): current − previous."""
        if self.denial_rate is None or self.previous_denial_rate is None:
            return None
        return self.denial_rate - self.previous_denial_rate

    @property
    def median_days_change(self) -> float | None:
        if self.median_days is None or self.previous_median_days is None:
            return None
        return self.median_days - self.previous_median_days


@dataclass(frozen=True)
class RecoveredDollars:
    this_month: Decimal
    last_30_days: Decimal
    all_time: Decimal


@dataclass(frozen=True)
class RunSummary:
    id: int
    status: str
    as_of: date
    when: datetime
    finished_at: datetime | None
    events: int  # created + updated


@dataclass(frozen=True)
class UploadSummary:
    id: int
    file_name: str
    status: str
    rows_total: int
    inserted: int
    updated: int
    rejected: int
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class EventSummary:
    id: int
    drift_type: str
    payer: str
    payer_id: int
    cpt_group: str
    direction: str
    label: str
    severity: float
    baseline: str  # formatted in the drift type's unit
    current: str
    delta: str
    current_start: date
    current_end: date


@dataclass(frozen=True)
class PayerWeeks:
    """One payer's weekly decided claims and denials over the chart's weeks (0 for none)."""

    payer_id: int
    name: str
    decided_total: int
    decided: list[int]
    denied: list[int]

    @property
    def rates(self) -> list[float | None]:
        return [d / n if n else None for d, n in zip(self.denied, self.decided, strict=True)]


@dataclass(frozen=True)
class Dashboard:
    as_of: date
    computed_at: datetime
    window_days: int
    kpis: Kpis
    open_alerts: int
    recovered: RecoveredDollars
    last_run: RunSummary | None
    last_upload: UploadSummary | None
    weeks: list[date]
    top_payers: list[PayerWeeks]
    newest_events: list[EventSummary]
    recent_uploads: list[UploadSummary] = field(default_factory=list)


# -- the claim KPIs: one statement ----------------------------------------------------------------

# The decided claims of a window are read payer by payer: each payer's rows are one range of the
# covering index (customer, payer, decided_date) INCLUDE (outcome, submitted_date, …), read
# without the table and grouped there, payer by payer, where the date alone would have
# PostgreSQL read every claim of the customer (a sequential scan: 300 ms at 1,000,000 claims).
# ``{keys}``: what each payer's claims are grouped by (as ``key1``, ``key2``, …).
_DECIDED_BY_PAYER = """
  FROM {payers} AS payer
 CROSS JOIN LATERAL (
        SELECT {keys},
               count(*) AS decided,
               count(*) FILTER (WHERE c.outcome = 'DENIED') AS denied
          FROM {claims} AS c
         WHERE c.customer_id = %(customer)s AND c.payer_id = payer.id
           AND c.decided_date >= %(from)s AND c.decided_date <= %(today)s
           AND c.outcome <> 'PENDING'
         GROUP BY {groups}
       ) AS claim
 WHERE payer.customer_id = %(customer)s
"""


def _decided_by_payer(*keys: str) -> str:
    return _DECIDED_BY_PAYER.replace(
        "{keys}", ", ".join(f"{key} AS key{i}" for i, key in enumerate(keys, 1))
    ).replace("{groups}", ", ".join(str(i) for i in range(1, len(keys) + 1)))


# The KPIs' claims grouped by window and by days to decision (a few hundred groups, however
# many claims): the counts are sums of the groups, the medians are read off the same histogram
# (``_median``: what ``percentile_cont(0.5)`` gives, without sorting every claim).
_KPI_SQL = (
    """
SELECT groups.recent, groups.days, groups.claims, groups.denied, submitted.count
  FROM (SELECT count(*) FROM {claims}
         WHERE customer_id = %(customer)s
           AND submitted_date > %(start)s AND submitted_date <= %(today)s) AS submitted
  LEFT JOIN (
    SELECT claim.key1 AS recent, claim.key2 AS days,
           sum(claim.decided)::bigint AS claims, sum(claim.denied)::bigint AS denied
"""
    + _decided_by_payer("c.decided_date > %(start)s", "c.decided_date - c.submitted_date")
    + """
     GROUP BY 1, 2
  ) AS groups ON true
 ORDER BY 1, 2
"""
)


def _median(histogram: list[tuple[int, int]]) -> float | None:
    """The median of the values ``histogram`` counts (``(value, count)`` by value), interpolated
    between the two middle values as PostgreSQL's ``percentile_cont(0.5)`` does."""
    total = sum(count for _, count in histogram)
    if not total:
        return None

    def at(index: int) -> int:  # the value at ``index`` of the sorted values
        seen = 0
        for value, count in histogram:
            seen += count
            if index < seen:
                return value
        raise IndexError(index)

    middle = (total - 1) / 2
    low, high = at(int(middle)), at(int(middle + 0.5))
    return low + (high - low) * (middle - int(middle))


def _window(groups: list[tuple[int, int, int]]) -> tuple[int, int, float | None]:
    """A window's decided and denied claims and median days, from its ``(days, decided,
    denied)`` groups."""
    decided = sum(claims for _, claims, _ in groups)
    denied = sum(denials for _, _, denials in groups)
    return decided, denied, _median([(days, claims) for days, claims, _ in groups])


def claim_kpis(*, customer: Customer, today: date) -> Kpis:
    """Last 30 days (``today`` included) against the 30 days before, by decision date."""
    start = today - timedelta(days=WINDOW_DAYS)
    params = {
        "customer": customer.pk,
        "today": today,
        "start": start,
        # the previous window starts the day after ``start - WINDOW_DAYS``
        "from": start - timedelta(days=WINDOW_DAYS - 1),
    }
    sql = _KPI_SQL.format(claims=Claim._meta.db_table, payers=Payer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()  # at least one: the submissions (groups NULL without claims)
    submitted = rows[0][4]
    decided, denied, median = _window([row[1:4] for row in rows if row[0] is True])
    prev_decided, prev_denied, prev_median = _window([row[1:4] for row in rows if row[0] is False])
    return Kpis(
        decided=decided,
        submitted=submitted,
        denied=denied,
        denial_rate=denied / decided if decided else None,
        previous_decided=prev_decided,
        previous_denial_rate=prev_denied / prev_decided if prev_decided else None,
        median_days=median,
        previous_median_days=prev_median,
    )


# -- the top payers' weekly denial rate: one statement --------------------------------------------

_TOP_PAYERS_SQL = (
    """
WITH daily AS (
    SELECT payer.id AS payer_id, claim.key1 AS day, claim.decided, claim.denied
"""
    + _decided_by_payer("c.decided_date")
    + """
), weekly AS (
    -- days first, then weeks: date_trunc on every claim cost more than reading the claims
    SELECT payer_id, date_trunc('week', day)::date AS week,
           sum(decided)::bigint AS decided, sum(denied)::bigint AS denied
      FROM daily
     GROUP BY 1, 2
), top AS (
    SELECT payer_id, sum(decided) AS total
      FROM weekly
     GROUP BY 1
     ORDER BY total DESC, payer_id
     LIMIT %(limit)s
)
SELECT top.payer_id, payer.name, top.total, weekly.week, weekly.decided, weekly.denied
  FROM top
  JOIN weekly ON weekly.payer_id = top.payer_id
  JOIN {payers} AS payer ON payer.id = top.payer_id AND payer.customer_id = %(customer)s
 ORDER BY top.total DESC, top.payer_id, weekly.week
"""
)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def chart_weeks(today: date, weeks: int = CHART_WEEKS) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, the week of ``today`` last."""
    last = week_start(today)
    return [last - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def top_payers_weekly(
    *, customer: Customer, today: date, weeks: int = CHART_WEEKS, limit: int = TOP_PAYERS
) -> tuple[list[date], list[PayerWeeks]]:
    """The ``limit`` payers with the most decided claims over the last ``weeks`` weeks, and their
    decided and denied claims per week of decision: one grouped query."""
    mondays = chart_weeks(today, weeks)
    params = {"customer": customer.pk, "from": mondays[0], "today": today, "limit": limit}
    sql = _TOP_PAYERS_SQL.format(claims=Claim._meta.db_table, payers=Payer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    position = {week: i for i, week in enumerate(mondays)}
    payers: dict[int, PayerWeeks] = {}
    for payer_id, name, total, week, decided, denied in rows:
        if payer_id not in payers:
            payers[payer_id] = PayerWeeks(
                payer_id, name, int(total), [0] * len(mondays), [0] * len(mondays)
            )
        payers[payer_id].decided[position[week]] = decided
        payers[payer_id].denied[position[week]] = denied
    return mondays, list(payers.values())


# -- runs, events, uploads ------------------------------------------------------------------------


def _upload_summary(upload) -> UploadSummary:
    return UploadSummary(
        id=upload.pk,
        file_name=upload.file_name,
        status=upload.status,
        rows_total=upload.rows_total,
        inserted=upload.inserted,
        updated=upload.updated,
        rejected=upload.rejected,
        created_at=upload.created_at,
        finished_at=upload.finished_at,
    )


def _event_summary(event) -> EventSummary:
    kind = event.drift_type
    return EventSummary(
        id=event.pk,
        drift_type=kind,
        payer=event.payer.name,
        payer_id=event.payer_id,
        cpt_group=event.cpt_group,
        direction=event.direction,
        label=event.label,
        severity=event.severity,
        baseline=format_value(kind, event.baseline_value),
        current=format_value(kind, event.current_value),
        delta=format_delta(kind, event.delta),
        current_start=event.current_start,
        current_end=event.current_end,
    )


def newest_events(*, customer: Customer, limit: int = NEWEST_EVENTS):
    """The latest window's events first; within a window the payer-wide ones (``ALL``) before
    their CPT-group breakdowns, then the most severe."""
    payer_wide_first = Case(When(cpt_group="ALL", then=Value(0)), default=Value(1))
    return drift_event_list(customer=customer).order_by(
        "-current_end", payer_wide_first, "-severity", "-id"
    )[:limit]


def last_run(*, customer: Customer) -> RunSummary | None:
    run = drift_run_list(customer=customer).first()
    if run is None:
        return None
    return RunSummary(
        id=run.pk,
        status=run.status,
        as_of=run.as_of,
        when=run.finished_at or run.created_at,
        finished_at=run.finished_at,
        events=run.events_created + run.events_updated,
    )


def compute(*, customer: Customer, today: date | None = None) -> Dashboard:
    """Every number of the dashboard, straight from the database (7 queries, whatever the size)."""
    today = today or timezone.localdate()
    weeks, top = top_payers_weekly(customer=customer, today=today)
    uploads = [
        _upload_summary(u)
        for u in upload_list(customer=customer).select_related(None)[:RECENT_UPLOADS]
    ]
    recovered = recovered_totals(customer=customer, today=today)
    return Dashboard(
        as_of=today,
        computed_at=timezone.now(),
        window_days=WINDOW_DAYS,
        kpis=claim_kpis(customer=customer, today=today),
        open_alerts=open_alert_count(customer=customer),
        recovered=RecoveredDollars(
            this_month=recovered.this_month,
            last_30_days=recovered.last_30_days,
            all_time=recovered.all_time,
        ),
        last_run=last_run(customer=customer),
        last_upload=uploads[0] if uploads else None,
        weeks=weeks,
        top_payers=top,
        newest_events=[_event_summary(e) for e in newest_events(customer=customer)],
        recent_uploads=uploads,
    )


def dashboard(*, customer: Customer) -> Dashboard:
    """The customer's dashboard from the cache (five minutes), computed on a miss."""
    key = cache_key(customer.pk)
    cached = cache.get(key)
    if cached is not None:
        return cached
    fresh = compute(customer=customer)
    cache.set(key, fresh, CACHE_SECONDS)
    return fresh
