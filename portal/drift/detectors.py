"""Drift detectors (PRODUCT §4): per-segment, per-window aggregates in, findings out. No ORM.

The database side fills ``SegmentAggregates`` with grouped queries (counts, sums, sums of
squares, a median, counts per code — windowing step 5 below) and calls ``detect``. ``aggregate``
computes the same aggregates from plain ``ClaimRecord``s: it is the reference implementation of the
windowing rule, used by the tests and to be mirrored by the SQL.

Windowing (the rule the SQL must follow)
----------------------------------------
Claims have adjudication lag: denials are decided in about a week, payments in about three, and
many claims submitted in the last weeks are still PENDING. Windows by *submission* date are
right-censored: the last 14 days of submissions are mostly undecided, the few decided ones are
mostly the fast denials, so on perfectly stable data the recent window looks denial-heavy and fast.
The rule below makes a stationary payer look the same in both windows:

1. Window end: ``end = min(as_of, latest decided_date of the customer's claims)``. A customer whose
   last upload is a week old has no decisions after it; counting those empty days would fake a
   drop of every per-day metric. Current window = the ``current_days`` (14) days ending at ``end``;
   baseline = the ``baseline_days`` (90) days before it. Inclusive dates.
2. Cohorts by decision date: a claim belongs to the window that contains its ``decided_date``.
   PENDING claims (no decision) and claims decided after ``end`` belong to no window; the
   submission date does not choose the window. A claim's outcome is known on its decision date,
   so a decision-date cohort is complete the day it closes: nothing in it is censored.
   If submissions arrive at a steady rate, the claims decided on any day d are a fair sample of
   the lag distribution (those decided with lag L were submitted on d − L, and every submission
   day contributes alike), whatever d is — so both windows see the same mix of denials and
   payments and the same days-to-decision. (Steady *growth* tilts both windows alike and cancels.)
3. Equal maturity — one lag horizon for both windows: a claim counts only if
   ``decided_date − submitted_date ≤ H`` with
   ``H = min(max_lag_days, baseline_start − earliest submitted_date of the customer)``.
   A claim decided on the first baseline day with lag L was submitted L days earlier, which must
   lie inside the uploaded history; the current window, later, could hold longer lags that the
   baseline cannot. Capping both at H gives both windows exactly the lags 0…H — without it a
   short history would make the current window look slower and (long lags being payments) less
   denied. Equivalently: the earliest submission any window may draw on is ``baseline_start − H``.
   So detection needs history beyond the two windows: with 180 days of claims H is 77 days
   (lags of payments rarely exceed it); a history shorter than 104 days gives H = 0 and nothing
   to compare, by design.
4. Segments: every (payer, CPT group) with a claim in either window, and every payer across its
   groups with ``cpt_group = "ALL"`` (in SQL, ``GROUPING SETS ((payer, cpt_group), (payer))``).
   Group rows are returned even below the minimum volume: the payer-wide tests stratify by them.
5. Aggregates per segment and window (``FILTER`` clauses over the covering index):
   decided = outcome ≠ PENDING (OTHER counts as decided, not denied); denied = outcome DENIED;
   days = decided_date − submitted_date as n/Σ/Σ² per outcome, the same for ln(1 + days), and
   ``percentile_cont(0.5)`` of days over all decided; billed_amount n/Σ/Σ² over denied claims
   that have one; allowed_amount n/Σ/Σ² over PAID claims per CPT code; paid_amount n/Σ/Σ² over
   PAID claims; denied claims per non-blank denial_reason_code (trimmed, upper-cased).

Known limits of the rule: a sudden *step* in submission volume (a new clinic) tilts the current
window towards short lags for a few weeks — days to decision are compared within outcome (below)
to blunt it. A payer that starts deciding slower shows it only once the slowed claims come back
(a few weeks); meanwhile its payments slip out of the current window while its fast denials do
not, so for a few weeks the share of decided claims that were denied really is higher, and a
strong slowdown may also be reported as a denial_rate change of that payer.

Detection (``detect``)
----------------------
1. A segment is *examined* when both windows hold at least ``min_volume`` (30) decided claims.
2. Every detector that applies runs on it and yields candidates with a p-value (a detector
   whose own sample — e.g. paid claims of codes seen in both windows — is under ``min_volume``
   yields none):
   - ``denial_rate``: per group, the two-proportion z-test, or Fisher's exact test when an expected
     cell count is under 5; payer-wide (ALL), the Cochran–Mantel–Haenszel test across the payer's
     CPT groups, so that a shift of volume between groups with different rates — every group's
     own rate unchanged — is not called drift (NOTES "Drift statistics"). The ALL values are the
     current rate and the baseline's per-group rates applied to the current group mix.
   - ``decision_time``: medians are reported (PRODUCT: median days), the test is a stratified
     Welch t-test on ln(1 + days) within outcome (and within CPT group for ALL): denials are
     decided faster than payments, so a payer denying more would otherwise look faster. The floor
     requires the median and the like-for-like mean shift to agree in sign and both reach 3 days.
   - ``denial_dollars``: billed dollars denied per day, compound-Poisson z-test (from Σ and Σ²),
     or the exact test of the denial counts when a window would expect fewer than 10 denials.
   - ``payment_amount``: allowed amount per PAID claim for the same CPT code — a stratified Welch
     t-test over the codes seen in both windows, weighted by the current volume of each code; the
     values are the current mean and the baseline's per-code means on the current code mix.
   - ``new_denial_reason`` (ALL only, PRODUCT: a (payer, reason code)): for each reason rare in the
     baseline (≤ 5 % of its denials), its share of the denials, exact one-sided conditional test
     of two Poisson rates; the baseline share gets a Jeffreys prior (½) so "absent" stays finite.
3. Benjamini–Hochberg at q = 0.05 over the p-values of *all* candidates of the run.
4. A finding is a rejected candidate that also passes the materiality floor of its type
   (PRODUCT §4): rates ≥ 5 percentage points or ≥ 50 % relative; decision time ≥ 3 days;
   amounts (denied dollars per day, allowed per claim) ≥ 5 %. ``materiality`` = effect / floor.
5. One finding per natural key (payer, CPT group, drift type): of several new denial reasons of a
   payer, the one with the smallest p-value is the finding, the others are named in its details.

Severity (0–1) grows with how far past the floor the effect is: ``1 − exp(−materiality / 2)``
(materiality capped at 10): at the floor 0.39 (low), twice the floor 0.63 (medium), three times
0.78 (high), four times 0.86 (critical). Labels: < 0.4 low, < 0.65 medium, < 0.85 high, else
critical. The p-value decides *whether*; severity says *how much*.

Revenue impact (``revenue_impact``, dollars, > 0 = the provider is worse off, < 0 = better off),
projected over ``impact_days`` (30) at the current window's volume unless said otherwise:
- denial_rate: Δ rate × decided claims per day × 30 × mean paid amount per paid claim (baseline,
  else current) — claims that used to be paid, now denied;
- decision_time: Δ mean days (like for like) × paid dollars per day of the current window — the
  extra cash held in accounts receivable (a one-off amount, not per 30 days);
- denial_dollars: Δ billed dollars denied per day × 30 (billed, i.e. gross charges);
- payment_amount: −Δ allowed per claim × paid claims per day (codes compared) × 30;
- new_denial_reason: denials with the reason beyond its baseline share, per day × 30 × mean paid
  amount per paid claim — revenue at stake in them (not necessarily lost: the claims might have been
  denied for another reason before).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum

from portal.drift.stats import (
    Moments,
    Significance,
    benjamini_hochberg,
    benjamini_hochberg_adjusted,
    cochran_mantel_haenszel,
    daily_total_test,
    poisson_rate_increase_test,
    proportion_test,
    smoothed_share,
    stratified_welch_test,
)

ALL = "ALL"
PAID, DENIED, PENDING, OTHER = "PAID", "DENIED", "PENDING", "OTHER"
DECIDED_OUTCOMES = (PAID, DENIED, OTHER)


class DriftType(StrEnum):
    DENIAL_RATE = "denial_rate"
    DECISION_TIME = "decision_time"
    DENIAL_DOLLARS = "denial_dollars"
    NEW_DENIAL_REASON = "new_denial_reason"
    PAYMENT_AMOUNT = "payment_amount"


class Direction(StrEnum):
    WORSENING = "worsening"
    IMPROVING = "improving"


@dataclass(frozen=True)
class DriftSettings:
    """Per-customer detection settings (PRODUCT §4 defaults)."""

    current_days: int = 14
    baseline_days: int = 90
    min_volume: int = 30  # decided claims per window (and per detector's own sample)
    q: float = 0.05  # Benjamini–Hochberg false discovery rate
    rate_floor_points: float = 0.05  # rates: ≥ 5 percentage points …
    rate_floor_relative: float = 0.50  # … or ≥ 50 % relative
    days_floor: float = 3.0  # decision time
    amount_floor_relative: float = 0.05  # denied dollars per day, allowed per claim
    max_lag_days: int = 120  # lag horizon H, before the cap by the history (windowing step 3)
    fisher_below_expected: float = 5.0  # Fisher's exact test when an expected cell is smaller
    dollars_min_expected: float = 10.0  # denied dollars: exact count test under this many denials
    new_reason_max_baseline_share: float = 0.05  # "rare in the baseline"
    new_reason_min_count: int = 5  # "frequent now": at least this many denials with the reason
    reason_prior: float = 0.5  # pseudo-count for a reason's baseline share (Jeffreys)
    impact_days: int = 30  # revenue impact horizon


DEFAULT_SETTINGS = DriftSettings()


# --- windows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """The two windows of a run (inclusive dates) and the lag horizon H (windowing steps 1, 3)."""

    baseline_start: date
    baseline_end: date
    current_start: date
    current_end: date
    max_lag_days: int

    @property
    def baseline_days(self) -> int:
        return (self.baseline_end - self.baseline_start).days + 1

    @property
    def current_days(self) -> int:
        return (self.current_end - self.current_start).days + 1

    def window_of(self, submitted: date, decided: date | None) -> str | None:
        """Which window a claim falls in: "current", "baseline" or None (windowing steps 2, 3)."""
        if decided is None or (decided - submitted).days > self.max_lag_days:
            return None
        if self.current_start <= decided <= self.current_end:
            return "current"
        if self.baseline_start <= decided <= self.baseline_end:
            return "baseline"
        return None


def windows_for(
    as_of: date,
    settings: DriftSettings = DEFAULT_SETTINGS,
    *,
    data_start: date | None = None,
    data_end: date | None = None,
) -> Windows:
    """The windows of a run as of ``as_of``. ``data_start``: the customer's earliest submitted_date;
    ``data_end``: its latest decided_date (windowing steps 1 and 3)."""
    end = min(as_of, data_end) if data_end else as_of
    current_start = end - timedelta(days=settings.current_days - 1)
    baseline_end = current_start - timedelta(days=1)
    baseline_start = baseline_end - timedelta(days=settings.baseline_days - 1)
    horizon = settings.max_lag_days
    if data_start is not None:
        horizon = max(0, min(horizon, (baseline_start - data_start).days))
    return Windows(baseline_start, baseline_end, current_start, end, horizon)


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRecord:
    """One claim, as plain values (the reference windowing works on these; the SQL on rows)."""

    payer: str
    cpt: str
    cpt_group: str
    submitted_date: date
    decided_date: date | None
    outcome: str  # PAID / DENIED / PENDING / OTHER
    billed_amount: float | None = None
    allowed_amount: float | None = None
    paid_amount: float | None = None
    denial_reason_code: str = ""


@dataclass(frozen=True)
class WindowAggregates:
    """What one window holds for one segment (windowing step 5). All fields are additive across
    groups except ``median_days``."""

    days: int  # window length in days (the denominator of per-day metrics)
    decided: int = 0
    denied: int = 0
    denied_billed: Moments = field(default_factory=Moments)  # billed_amount of denied claims
    decision_days: Mapping[str, Moments] = field(default_factory=dict)  # days, by outcome
    decision_log_days: Mapping[str, Moments] = field(default_factory=dict)  # ln(1 + days), same
    median_days: float | None = None  # percentile_cont(0.5) of days over decided claims
    allowed_by_cpt: Mapping[str, Moments] = field(default_factory=dict)  # PAID claims, per code
    paid: Moments = field(default_factory=Moments)  # paid_amount of PAID claims
    reasons: Mapping[str, int] = field(default_factory=dict)  # denied claims per reason code

    @property
    def denial_rate(self) -> float:
        return self.denied / self.decided if self.decided else 0.0


@dataclass(frozen=True)
class SegmentAggregates:
    """One segment — (payer, CPT group), or (payer, ``ALL``) — in both windows."""

    payer: str
    cpt_group: str
    baseline: WindowAggregates
    current: WindowAggregates

    @property
    def is_payer_wide(self) -> bool:
        return self.cpt_group == ALL


# --- outputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One test of one segment: what was compared, how significant, how material.

    ``delta`` = current_value − baseline_value; ``relative_delta`` = delta / baseline_value (None
    when the baseline is 0). ``materiality`` = effect / floor (≥ 1 passes the floor; capped at
    ``MAX_MATERIALITY``). ``details``: the test statistic (None if infinite), its df, and what
    the detector adds (strata, the like-for-like shift, reason counts …); JSON-serialisable."""

    drift_type: str
    payer: str
    cpt_group: str
    baseline_value: float
    current_value: float
    delta: float
    relative_delta: float | None
    baseline_n: int
    current_n: int
    p_value: float
    test: str
    direction: str
    materiality: float
    severity: float
    label: str
    revenue_impact: float
    reason_code: str = ""
    details: dict[str, object] = field(default_factory=dict)

    @property
    def natural_key(self) -> tuple[str, str, str]:
        return (self.payer, self.cpt_group, self.drift_type)

    @property
    def is_material(self) -> bool:
        """At or past the floor. The 10⁻⁹ slack keeps "exactly 5 points" material although
        0.15 − 0.10 is 0.04999999999999999 in floating point."""
        return self.materiality >= 1.0 - 1e-9


@dataclass(frozen=True)
class Finding(Candidate):
    """A candidate that survived Benjamini–Hochberg and the materiality floor."""

    q_value: float = field(kw_only=True)  # the BH-adjusted p-value


@dataclass(frozen=True)
class RunResult:
    findings: list[Finding]
    candidates: list[Candidate]  # every test run, in the order run
    q_values: list[float]  # BH-adjusted p-values, aligned with candidates
    tests_run: int
    segments_examined: int
    segments_total: int
    windows: Windows | None = None


# --- severity, labels, floors -----------------------------------------------------------------


def severity_of(materiality: float) -> float:
    """1 − exp(−m/2) with m = materiality capped at 10 (see the module docstring)."""
    m = min(10.0, max(0.0, materiality)) if not math.isnan(materiality) else 0.0
    return 1.0 - math.exp(-m / 2.0)


def label_of(severity: float) -> str:
    if severity < 0.4:
        return "low"
    if severity < 0.65:
        return "medium"
    if severity < 0.85:
        return "high"
    return "critical"


def rate_materiality(baseline: float, current: float, settings: DriftSettings) -> float:
    """max(|Δ| / 5 points, |Δ / baseline| / 50 %): ≥ 1 when either rate floor is reached."""
    delta = abs(current - baseline)
    by_points = delta / settings.rate_floor_points
    if baseline > 0:
        by_relative = delta / baseline / settings.rate_floor_relative
    else:
        by_relative = math.inf if delta > 0 else 0.0
    return max(by_points, by_relative)


def relative_materiality(baseline: float, current: float, settings: DriftSettings) -> float:
    """|Δ / baseline| / 5 % (amounts); infinite from a zero baseline."""
    if baseline == 0:
        return math.inf if current != 0 else 0.0
    return abs((current - baseline) / baseline) / settings.amount_floor_relative


MAX_MATERIALITY = 1000.0  # from a zero baseline the ratio is infinite; stored values stay finite


def _finite_or_none(value: float) -> float | None:
    """Statistics can be ±inf (a certain difference) or NaN (an odds ratio of 0/0); JSON and
    PostgreSQL's jsonb have no such numbers."""
    return value if math.isfinite(value) else None


def _relative(baseline: float, current: float) -> float | None:
    return (current - baseline) / baseline if baseline else None


def _candidate(
    drift_type: DriftType,
    segment: SegmentAggregates,
    *,
    baseline_value: float,
    current_value: float,
    baseline_n: int,
    current_n: int,
    result: Significance,
    worsening: bool,
    materiality: float,
    revenue_impact: float,
    reason_code: str = "",
    details: dict[str, object] | None = None,
) -> Candidate:
    materiality = min(materiality, MAX_MATERIALITY)
    severity = severity_of(materiality)
    info: dict[str, object] = {"statistic": _finite_or_none(result.statistic)}
    if result.df is not None:
        info["df"] = result.df
    info.update(details or {})
    return Candidate(
        drift_type=drift_type.value,
        payer=segment.payer,
        cpt_group=segment.cpt_group,
        baseline_value=baseline_value,
        current_value=current_value,
        delta=current_value - baseline_value,
        relative_delta=_relative(baseline_value, current_value),
        baseline_n=baseline_n,
        current_n=current_n,
        p_value=result.p_value,
        test=result.test,
        direction=(Direction.WORSENING if worsening else Direction.IMPROVING).value,
        materiality=materiality,
        severity=severity,
        label=label_of(severity),
        revenue_impact=revenue_impact,
        reason_code=reason_code,
        details=info,
    )


def _mean_paid(segment: SegmentAggregates) -> float:
    """Revenue of a typical paid claim: the baseline's mean paid amount, else the current one."""
    if segment.baseline.paid.n:
        return segment.baseline.paid.mean
    return segment.current.paid.mean


# --- detectors --------------------------------------------------------------------------------


def detect_denial_rate(
    segment: SegmentAggregates,
    groups: Sequence[SegmentAggregates] = (),
    settings: DriftSettings = DEFAULT_SETTINGS,
) -> Candidate | None:
    """Share of decided claims that were denied, current vs baseline.

    Per CPT group: ``proportion_test`` (z-test, or Fisher's exact test under 5 expected).
    Payer-wide (``ALL``, with the payer's group rows as ``groups``): Cochran–Mantel–Haenszel across
    the groups seen in both windows; current value = the current rate over those groups; baseline
    value = the baseline's per-group rates on the current group mix (direct standardisation), so
    that a pure shift of volume between groups shows no delta and no significance."""
    cur, base = segment.current, segment.baseline
    if segment.is_payer_wide and groups:
        strata = [
            (g.current.denied, g.current.decided, g.baseline.denied, g.baseline.decided)
            for g in groups
            if g.current.decided and g.baseline.decided
        ]
        result = cochran_mantel_haenszel(strata)
        current_n = sum(s[1] for s in strata)
        baseline_n = sum(s[3] for s in strata)
        if current_n < settings.min_volume or baseline_n < settings.min_volume:
            return None
        current_value = sum(s[0] for s in strata) / current_n
        baseline_value = current_value - (result.estimate or 0.0)
        details: dict[str, object] = {
            "strata": len(strata),
            "crude_baseline_rate": base.denial_rate,
            "crude_current_rate": cur.denial_rate,
        }
    else:
        result = proportion_test(
            cur.denied,
            cur.decided,
            base.denied,
            base.decided,
            min_expected=settings.fisher_below_expected,
        )
        current_n, baseline_n = cur.decided, base.decided
        current_value, baseline_value = cur.denial_rate, base.denial_rate
        details = {}
    delta = current_value - baseline_value
    impact = delta * cur.decided / cur.days * settings.impact_days * _mean_paid(segment)
    return _candidate(
        DriftType.DENIAL_RATE,
        segment,
        baseline_value=baseline_value,
        current_value=current_value,
        baseline_n=baseline_n,
        current_n=current_n,
        result=result,
        worsening=delta > 0,
        materiality=rate_materiality(baseline_value, current_value, settings),
        revenue_impact=impact,
        details=details,
    )


def _pooled_mean(moments: Iterable[Moments]) -> float:
    return sum(moments, Moments()).mean


def detect_decision_time(
    segment: SegmentAggregates,
    groups: Sequence[SegmentAggregates] = (),
    settings: DriftSettings = DEFAULT_SETTINGS,
) -> Candidate | None:
    """Days from submission to decision, current vs baseline.

    1. Strata: outcome (PAID / DENIED / OTHER) — and, payer-wide, outcome within each CPT group
       (``groups``) — so that a change in the share of fast denials is not read as a change of
       speed. Strata need two claims in each window; together ``min_volume``.
    2. Test: stratified Welch t-test, standardised to the current mix, on ln(1 + days)
       (``decision_log_days``; on days when those are absent). Days to payment have a long right
       tail; a t-test on raw days from a 30-claim window called stable payers "faster" about
       three times as often as it should at p < 0.001 (simulated), the log scale does not.
    3. Effect: the like-for-like shift in days (the same standardised difference on raw days),
       and the medians of the segment as its values (PRODUCT: median days). The floor needs the
       median delta and the shift to agree in sign and both to be ≥ ``days_floor``."""
    cur, base = segment.current, segment.baseline
    rows = groups if segment.is_payer_wide and groups else [segment]

    def strata_of(attribute: str) -> list[tuple[Moments, Moments]]:
        return [
            (getattr(row.current, attribute)[o], getattr(row.baseline, attribute)[o])
            for row in rows
            for o in DECIDED_OUTCOMES
            if o in getattr(row.current, attribute) and o in getattr(row.baseline, attribute)
        ]

    strata = strata_of("decision_days")  # 1.
    current_n = sum(c.n for c, b in strata if c.n >= 2 and b.n >= 2)
    baseline_n = sum(b.n for c, b in strata if c.n >= 2 and b.n >= 2)
    if current_n < settings.min_volume or baseline_n < settings.min_volume:
        return None
    log_strata = strata_of("decision_log_days")
    if [(c.n, b.n) for c, b in log_strata] == [(c.n, b.n) for c, b in strata]:
        result = stratified_welch_test(log_strata, test="stratified_welch_t_log_days")  # 2.
    else:
        result = stratified_welch_test(strata)
    shift = stratified_welch_test(strata).estimate or 0.0  # 3.
    baseline_value = (
        base.median_days
        if base.median_days is not None
        else _pooled_mean(base.decision_days.values())
    )
    current_value = (
        cur.median_days if cur.median_days is not None else _pooled_mean(cur.decision_days.values())
    )
    median_delta = current_value - baseline_value
    if median_delta * shift > 0:
        materiality = min(abs(median_delta), abs(shift)) / settings.days_floor
    else:
        materiality = 0.0
    return _candidate(
        DriftType.DECISION_TIME,
        segment,
        baseline_value=baseline_value,
        current_value=current_value,
        baseline_n=baseline_n,
        current_n=current_n,
        result=result,
        worsening=shift > 0,
        materiality=materiality,
        revenue_impact=shift * cur.paid.total / cur.days,
        details={"like_for_like_shift_days": shift, "strata": len(strata)},
    )


def detect_denial_dollars(
    segment: SegmentAggregates, settings: DriftSettings = DEFAULT_SETTINGS
) -> Candidate | None:
    """Billed dollars denied per day, current vs baseline: the compound-Poisson z-test, or the
    exact test of the denial counts when either window would expect fewer than
    ``dollars_min_expected`` denials at a common rate (``stats.daily_total_test``)."""
    cur, base = segment.current, segment.baseline
    if cur.denied_billed.n + base.denied_billed.n == 0:
        return None
    result = daily_total_test(
        cur.denied_billed.n,
        cur.denied_billed.total,
        cur.denied_billed.total_sq,
        cur.days,
        base.denied_billed.n,
        base.denied_billed.total,
        base.denied_billed.total_sq,
        base.days,
        min_expected=settings.dollars_min_expected,
    )
    baseline_value = base.denied_billed.total / base.days
    current_value = cur.denied_billed.total / cur.days
    return _candidate(
        DriftType.DENIAL_DOLLARS,
        segment,
        baseline_value=baseline_value,
        current_value=current_value,
        baseline_n=base.denied_billed.n,
        current_n=cur.denied_billed.n,
        result=result,
        worsening=current_value > baseline_value,
        materiality=relative_materiality(baseline_value, current_value, settings),
        revenue_impact=(current_value - baseline_value) * settings.impact_days,
    )


def detect_payment_amount(
    segment: SegmentAggregates, settings: DriftSettings = DEFAULT_SETTINGS
) -> Candidate | None:
    """Allowed amount per PAID claim for the same CPT code, current vs baseline.

    1. Codes with at least two paid claims in each window are compared; together they need
       ``min_volume`` claims in each window.
    2. Stratified Welch t-test by code, weights = each code's current claims: D = Σ w (x̄_cur −
       x̄_base), the change of the current claims' mean allowed amount at unchanged code mix.
    3. current value = Σ w x̄_cur, baseline value = Σ w x̄_base; the floor is |D| / baseline ≥ 5 %."""
    cur, base = segment.current, segment.baseline
    codes = sorted(
        code
        for code, moments in cur.allowed_by_cpt.items()
        if moments.n >= 2 and base.allowed_by_cpt.get(code, Moments()).n >= 2
    )  # 1.
    current_n = sum(cur.allowed_by_cpt[c].n for c in codes)
    baseline_n = sum(base.allowed_by_cpt[c].n for c in codes)
    if current_n < settings.min_volume or baseline_n < settings.min_volume:
        return None
    strata = [(cur.allowed_by_cpt[c], base.allowed_by_cpt[c]) for c in codes]
    result = stratified_welch_test(strata)  # 2.
    current_value = sum(c.n * c.mean for c, _ in strata) / current_n  # 3.
    baseline_value = sum(c.n * b.mean for c, b in strata) / current_n
    delta = current_value - baseline_value
    return _candidate(
        DriftType.PAYMENT_AMOUNT,
        segment,
        baseline_value=baseline_value,
        current_value=current_value,
        baseline_n=baseline_n,
        current_n=current_n,
        result=result,
        worsening=delta < 0,
        materiality=relative_materiality(baseline_value, current_value, settings),
        revenue_impact=-delta * current_n / cur.days * settings.impact_days,
        details={"codes": len(codes)},
    )


def detect_new_denial_reasons(
    segment: SegmentAggregates, settings: DriftSettings = DEFAULT_SETTINGS
) -> list[Candidate]:
    """Denial reasons rare or absent in the baseline and frequent now (payer-wide segments only).

    1. Candidates: every reason of the current window's denials whose baseline share of denials is
       ≤ ``new_reason_max_baseline_share`` (chosen on the baseline alone, so the selection does not
       peek at the current window's significance).
    2. Test: is its share of denials higher now? ``poisson_rate_increase_test`` (exact, one-sided;
       exposures = the windows' denials), which needs no prior even when the baseline never saw it.
    3. Values: the baseline share with a Jeffreys prior ((x + ½) / (n + 1)), the current share.
    4. Floor: at least ``new_reason_min_count`` denials with the reason now, and the rate floor on
       the shares (≥ 5 points or ≥ 50 % relative)."""
    if not segment.is_payer_wide:
        return []
    cur, base = segment.current, segment.baseline
    if cur.denied == 0:
        return []
    out = []
    for code, count in sorted(cur.reasons.items()):
        baseline_count = base.reasons.get(code, 0)
        raw_share = baseline_count / base.denied if base.denied else 0.0
        if count <= 0 or raw_share > settings.new_reason_max_baseline_share:  # 1.
            continue
        result = poisson_rate_increase_test(count, cur.denied, baseline_count, base.denied)  # 2.
        baseline_value = smoothed_share(baseline_count, base.denied, settings.reason_prior)  # 3.
        current_value = count / cur.denied
        if count >= settings.new_reason_min_count:  # 4.
            materiality = rate_materiality(baseline_value, current_value, settings)
        else:
            materiality = 0.0
        excess_per_day = (count - cur.denied * baseline_value) / cur.days
        out.append(
            _candidate(
                DriftType.NEW_DENIAL_REASON,
                segment,
                baseline_value=baseline_value,
                current_value=current_value,
                baseline_n=base.denied,
                current_n=cur.denied,
                result=result,
                worsening=True,
                materiality=materiality if current_value > baseline_value else 0.0,
                revenue_impact=excess_per_day * settings.impact_days * _mean_paid(segment),
                reason_code=code,
                details={"baseline_count": baseline_count, "current_count": count},
            )
        )
    return out


# --- a run ------------------------------------------------------------------------------------


def _examined(segment: SegmentAggregates, settings: DriftSettings) -> bool:
    return (
        segment.current.decided >= settings.min_volume
        and segment.baseline.decided >= settings.min_volume
    )


def run_detectors(
    segment: SegmentAggregates,
    groups: Sequence[SegmentAggregates] = (),
    settings: DriftSettings = DEFAULT_SETTINGS,
) -> list[Candidate]:
    """Every detector that applies to one examined segment (``groups``: for an ALL segment, the
    payer's group rows, used as strata)."""
    found = [
        detect_denial_rate(segment, groups, settings),
        detect_decision_time(segment, groups, settings),
        detect_denial_dollars(segment, settings),
        detect_payment_amount(segment, settings),
    ]
    candidates = [c for c in found if c is not None]
    candidates.extend(detect_new_denial_reasons(segment, settings))
    return candidates


def detect(
    segments: Sequence[SegmentAggregates],
    settings: DriftSettings = DEFAULT_SETTINGS,
    *,
    windows: Windows | None = None,
) -> RunResult:
    """A drift run over one customer's segments (see "Detection" in the module docstring).

    1. Group rows indexed by payer: the strata of that payer's ALL row.
    2. Segments with ``min_volume`` decided claims in both windows are examined; every detector
       that applies runs and its candidates join the run's family of tests.
    3. Benjamini–Hochberg at ``settings.q`` across the whole family.
    4. Findings: rejected *and* material; one per (payer, CPT group, drift type), the smallest
       p-value winning (other new reasons are listed in its details). Sorted by severity."""
    groups_of: dict[str, list[SegmentAggregates]] = defaultdict(list)  # 1.
    for segment in segments:
        if not segment.is_payer_wide:
            groups_of[segment.payer].append(segment)
    candidates: list[Candidate] = []
    examined = 0
    for segment in segments:  # 2.
        if not _examined(segment, settings):
            continue
        examined += 1
        groups = groups_of.get(segment.payer, []) if segment.is_payer_wide else []
        candidates.extend(run_detectors(segment, groups, settings))
    p_values = [c.p_value for c in candidates]
    rejected = benjamini_hochberg(p_values, settings.q)  # 3.
    q_values = benjamini_hochberg_adjusted(p_values)
    best: dict[tuple[str, str, str], Finding] = {}  # 4.
    others: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for candidate, is_rejected, q_value in zip(candidates, rejected, q_values, strict=True):
        if not (is_rejected and candidate.is_material):
            continue
        finding = Finding(**_fields(candidate), q_value=q_value)
        key = candidate.natural_key
        if key in best and best[key].p_value <= finding.p_value:
            others[key].append(finding.reason_code)
            continue
        if key in best:
            others[key].append(best[key].reason_code)
        best[key] = finding
    findings = []
    for key, finding in best.items():
        if others[key]:
            details = {**finding.details, "other_reason_codes": sorted(others[key])}
            finding = replace(finding, details=details)
        findings.append(finding)
    findings.sort(key=lambda f: (-f.severity, f.p_value, f.natural_key))
    return RunResult(
        findings=findings,
        candidates=candidates,
        q_values=q_values,
        tests_run=len(candidates),
        segments_examined=examined,
        segments_total=len(segments),
        windows=windows,
    )


def _fields(candidate: Candidate) -> dict[str, object]:
    return {name: getattr(candidate, name) for name in Candidate.__dataclass_fields__}


# --- reference windowing ----------------------------------------------------------------------


def percentile_cont(counts: Mapping[int, int], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont(fraction)`` over integer values given as value → count:
    the value at position fraction·(n − 1) of the sorted values, interpolated linearly."""
    n = sum(counts.values())
    if n == 0:
        return None
    position = fraction * (n - 1)
    low_index, high_index = math.floor(position), math.ceil(position)
    low = high = None
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if low is None and seen > low_index:
            low = value
        if seen > high_index:
            high = value
            break
    assert low is not None and high is not None
    return low + (high - low) * (position - low_index)


class _Accumulator:
    def __init__(self) -> None:
        self.decided = 0
        self.denied = 0
        self.denied_billed = Moments()
        self.days: dict[str, Moments] = {}
        self.log_days: dict[str, Moments] = {}
        self.histogram: Counter[int] = Counter()
        self.allowed: dict[str, Moments] = {}
        self.paid = Moments()
        self.reasons: Counter[str] = Counter()

    def add(self, claim: ClaimRecord) -> None:
        assert claim.decided_date is not None
        days = (claim.decided_date - claim.submitted_date).days
        self.decided += 1
        self.days[claim.outcome] = self.days.get(claim.outcome, Moments()).add(days)
        log_days = self.log_days.get(claim.outcome, Moments())
        self.log_days[claim.outcome] = log_days.add(math.log1p(days))
        self.histogram[days] += 1
        if claim.outcome == DENIED:
            self.denied += 1
            if claim.billed_amount is not None:
                self.denied_billed = self.denied_billed.add(claim.billed_amount)
            code = claim.denial_reason_code.strip().upper()
            if code:
                self.reasons[code] += 1
        elif claim.outcome == PAID:
            if claim.allowed_amount is not None:
                moments = self.allowed.get(claim.cpt, Moments())
                self.allowed[claim.cpt] = moments.add(claim.allowed_amount)
            if claim.paid_amount is not None:
                self.paid = self.paid.add(claim.paid_amount)

    def freeze(self, days: int) -> WindowAggregates:
        return WindowAggregates(
            days=days,
            decided=self.decided,
            denied=self.denied,
            denied_billed=self.denied_billed,
            decision_days=dict(self.days),
            decision_log_days=dict(self.log_days),
            median_days=percentile_cont(self.histogram, 0.5),
            allowed_by_cpt=dict(self.allowed),
            paid=self.paid,
            reasons=dict(self.reasons),
        )


def aggregate(
    claims: Iterable[ClaimRecord],
    as_of: date,
    settings: DriftSettings = DEFAULT_SETTINGS,
    *,
    windows: Windows | None = None,
) -> list[SegmentAggregates]:
    """The per-segment, per-window aggregates of ``claims`` as of ``as_of``: the reference
    implementation of the windowing rule (module docstring, steps 1–5) that the SQL mirrors.
    ``windows`` overrides the windows otherwise derived from the claims (``claim_windows``).
    Holds all claims in memory — for tests and small data, not for production."""
    claims = list(claims)
    if windows is None:
        windows = claim_windows(claims, as_of, settings)
    accumulators: dict[tuple[str, str, str], _Accumulator] = defaultdict(_Accumulator)
    keys: set[tuple[str, str]] = set()
    for claim in claims:
        if claim.outcome == PENDING:
            continue
        window = windows.window_of(claim.submitted_date, claim.decided_date)
        if window is None:
            continue
        for group in (claim.cpt_group, ALL):
            keys.add((claim.payer, group))
            accumulators[(claim.payer, group, window)].add(claim)
    days = {"baseline": windows.baseline_days, "current": windows.current_days}
    return [
        SegmentAggregates(
            payer=payer,
            cpt_group=group,
            baseline=accumulators[(payer, group, "baseline")].freeze(days["baseline"]),
            current=accumulators[(payer, group, "current")].freeze(days["current"]),
        )
        for payer, group in sorted(keys)
    ]


def claim_windows(
    claims: Sequence[ClaimRecord], as_of: date, settings: DriftSettings = DEFAULT_SETTINGS
) -> Windows:
    """``windows_for`` with the data bounds taken from the claims (windowing steps 1 and 3)."""
    data_start = min((c.submitted_date for c in claims), default=None)
    data_end = max((c.decided_date for c in claims if c.decided_date is not None), default=None)
    return windows_for(as_of, settings, data_start=data_start, data_end=data_end)
