"""The SQL side of detection: per-segment, per-window aggregates of one customer's claims.

Mirrors ``detectors.aggregate`` (the reference windowing, module docstring of ``detectors``):
claims are placed in a window by their *decision* date, only lags up to the horizon H count, and
every figure is an aggregate computed in PostgreSQL — three grouped queries over the covering
index, ``GROUPING SETS`` for the (payer, CPT group) and payer-wide (``ALL``) segments. Python
receives a few rows per segment, never one object per claim, so memory does not grow with claims.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db import connection

from portal.drift.detectors import (
    ALL,
    DEFAULT_SETTINGS,
    DriftSettings,
    SegmentAggregates,
    WindowAggregates,
    Windows,
    windows_for,
)
from portal.drift.stats import Moments

OUTCOMES = ("PAID", "DENIED", "OTHER")

# the claims a run looks at, with their window and lag (windowing steps 1–3)
_WINDOWED = """
SELECT c.payer_id, c.cpt_group, c.cpt, c.outcome, c.billed_amount, c.allowed_amount,
       c.paid_amount, upper(btrim(c.denial_reason_code)) AS reason,
       (c.decided_date - c.submitted_date) AS days,
       CASE WHEN c.decided_date >= %(current_start)s THEN 'current' ELSE 'baseline' END AS win
FROM claims_claim c
WHERE c.customer_id = %(customer)s
  AND c.decided_date BETWEEN %(baseline_start)s AND %(current_end)s
  AND c.decided_date - c.submitted_date <= %(horizon)s
"""


def _per_outcome() -> str:
    columns = []
    for outcome in OUTCOMES:
        where = f"FILTER (WHERE outcome = '{outcome}')"
        columns += [
            f"count(*) {where}",
            f"coalesce(sum(days) {where}, 0)",
            f"coalesce(sum(days * days) {where}, 0)",
            f"coalesce(sum(ln(1 + days)) {where}, 0)",
            f"coalesce(sum(ln(1 + days) ^ 2) {where}, 0)",
        ]
    return ",\n       ".join(columns)


_MAIN = f"""
WITH w AS ({_WINDOWED})
SELECT payer_id, GROUPING(cpt_group) = 1 AS all_groups, coalesce(cpt_group, ''), win,
       count(*) AS decided,
       count(*) FILTER (WHERE outcome = 'DENIED') AS denied,
       count(billed_amount) FILTER (WHERE outcome = 'DENIED'),
       coalesce(sum(billed_amount) FILTER (WHERE outcome = 'DENIED'), 0),
       coalesce(sum(billed_amount * billed_amount) FILTER (WHERE outcome = 'DENIED'), 0),
       count(paid_amount) FILTER (WHERE outcome = 'PAID'),
       coalesce(sum(paid_amount) FILTER (WHERE outcome = 'PAID'), 0),
       coalesce(sum(paid_amount * paid_amount) FILTER (WHERE outcome = 'PAID'), 0),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days),
       {_per_outcome()}
FROM w
GROUP BY GROUPING SETS ((payer_id, cpt_group, win), (payer_id, win))
"""

_ALLOWED = f"""
WITH w AS ({_WINDOWED})
SELECT payer_id, GROUPING(cpt_group) = 1, coalesce(cpt_group, ''), win, cpt,
       count(allowed_amount), sum(allowed_amount), sum(allowed_amount * allowed_amount)
FROM w
WHERE outcome = 'PAID' AND allowed_amount IS NOT NULL
GROUP BY GROUPING SETS ((payer_id, cpt_group, win, cpt), (payer_id, win, cpt))
"""

_REASONS = f"""
WITH w AS ({_WINDOWED})
SELECT payer_id, GROUPING(cpt_group) = 1, coalesce(cpt_group, ''), win, reason, count(*)
FROM w
WHERE outcome = 'DENIED' AND reason <> ''
GROUP BY GROUPING SETS ((payer_id, cpt_group, win, reason), (payer_id, win, reason))
"""


def data_span(customer_id: int) -> tuple[date | None, date | None]:
    """The customer's earliest submission and latest decision (windowing steps 1 and 3)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(submitted_date), max(decided_date) FROM claims_claim "
            "WHERE customer_id = %s",
            [customer_id],
        )
        return cursor.fetchone()


def run_windows(
    customer_id: int, as_of: date, settings: DriftSettings = DEFAULT_SETTINGS
) -> Windows:
    start, end = data_span(customer_id)
    return windows_for(as_of, settings, data_start=start, data_end=end)


def segment_aggregates(customer_id: int, windows: Windows) -> list[SegmentAggregates]:
    """Every segment's aggregates in both windows; ``payer`` is the payer's id as text."""
    params = {
        "customer": customer_id,
        "baseline_start": windows.baseline_start,
        "current_start": windows.current_start,
        "current_end": windows.current_end,
        "horizon": windows.max_lag_days,
    }
    main: dict[tuple, dict] = {}
    allowed: dict[tuple, dict[str, Moments]] = defaultdict(dict)
    reasons: dict[tuple, dict[str, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(_MAIN, params)
        for row in cursor.fetchall():
            payer, all_groups, group, win = row[:4]
            key = (str(payer), ALL if all_groups else group, win)
            days, log_days = {}, {}
            for i, outcome in enumerate(OUTCOMES):
                n, s1, s2, l1, l2 = row[13 + 5 * i : 18 + 5 * i]
                if n:
                    days[outcome] = Moments(n, float(s1), float(s2))
                    log_days[outcome] = Moments(n, float(l1), float(l2))
            main[key] = {
                "decided": row[4],
                "denied": row[5],
                "denied_billed": Moments(row[6], float(row[7]), float(row[8])),
                "paid": Moments(row[9], float(row[10]), float(row[11])),
                "median_days": float(row[12]) if row[12] is not None else None,
                "decision_days": days,
                "decision_log_days": log_days,
            }
        cursor.execute(_ALLOWED, params)
        for payer, all_groups, group, win, cpt, n, s1, s2 in cursor.fetchall():
            key = (str(payer), ALL if all_groups else group, win)
            allowed[key][cpt] = Moments(n, float(s1), float(s2))
        cursor.execute(_REASONS, params)
        for payer, all_groups, group, win, reason, count in cursor.fetchall():
            reasons[(str(payer), ALL if all_groups else group, win)][reason] = count

    lengths = {"baseline": windows.baseline_days, "current": windows.current_days}

    def window(payer: str, group: str, win: str) -> WindowAggregates:
        key = (payer, group, win)
        values = main.get(key)
        if values is None:
            return WindowAggregates(days=lengths[win])
        return WindowAggregates(
            days=lengths[win],
            allowed_by_cpt=allowed.get(key, {}),
            reasons=reasons.get(key, {}),
            **values,
        )

    segments = sorted({(payer, group) for payer, group, _ in main})
    return [
        SegmentAggregates(
            payer=payer,
            cpt_group=group,
            baseline=window(payer, group, "baseline"),
            current=window(payer, group, "current"),
        )
        for payer, group in segments
    ]
