"""drift/detectors.py: floors, Benjamini–Hochberg across a run, stratification, the windowing
rule — and end to end on the claims generator: stationary data with realistic adjudication lag
yields nothing, planted drifts are found with their type and direction, and nothing else is."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from portal.claims.cpt import default_group
from portal.claims.generator import COLUMNS, REASONS, ClaimsSpec, Drift, generate_rows
from portal.drift.detectors import (
    ALL,
    ClaimRecord,
    DriftSettings,
    SegmentAggregates,
    WindowAggregates,
    aggregate,
    claim_windows,
    detect,
    detect_decision_time,
    detect_new_denial_reasons,
    detect_payment_amount,
    label_of,
    percentile_cont,
    severity_of,
    windows_for,
)
from portal.drift.stats import Moments

approx = pytest.approx
END = date(2026, 3, 31)


# --- helpers ------------------------------------------------------------------------------------


def moments(n: int, mean: float, sd: float) -> Moments:
    """Moments of n values with this mean and sample standard deviation."""
    return Moments(n, n * mean, (n - 1) * sd * sd + n * mean * mean)


def window(days: int = 14, decided: int = 0, denied: int = 0, **fields) -> WindowAggregates:
    return WindowAggregates(days=days, decided=decided, denied=denied, **fields)


def segment(baseline, current, payer="Acme Health Plan", group="E/M") -> SegmentAggregates:
    return SegmentAggregates(payer, group, baseline, current)


def rate_segment(base_denied, base_n, cur_denied, cur_n, **kwargs) -> SegmentAggregates:
    return segment(window(90, base_n, base_denied), window(14, cur_n, cur_denied), **kwargs)


def findings_of(result, drift_type=None):
    return [f for f in result.findings if drift_type is None or f.drift_type == drift_type]


def claim(
    submitted: date,
    lag: int | None,
    outcome: str = "PAID",
    *,
    payer: str = "Acme Health Plan",
    group: str = "E/M",
    cpt: str = "99213",
    billed: float = 200.0,
    allowed: float | None = 90.0,
    paid: float | None = 80.0,
    reason: str = "",
) -> ClaimRecord:
    decided = submitted + timedelta(days=lag) if lag is not None else None
    if outcome == "DENIED":
        allowed, paid = 0.0, 0.0
    return ClaimRecord(
        payer, cpt, group, submitted, decided, outcome, billed, allowed, paid, reason
    )


def steady_claims(start: date, end: date, mix: list[tuple[int, str, int]]) -> list[ClaimRecord]:
    """Every day from ``start`` to ``end``, ``count`` claims per (lag, outcome, count); a claim
    whose decision would fall after ``end`` is PENDING — a perfectly stationary payer."""
    out = []
    day = start
    while day <= end:
        for lag, outcome, count in mix:
            decided_in_time = day + timedelta(days=lag) <= end
            for _ in range(count):
                if decided_in_time:
                    out.append(claim(day, lag, outcome, reason="CO-16"))
                else:
                    out.append(claim(day, None, "PENDING", allowed=None, paid=None))
        day += timedelta(days=1)
    return out


def claim_records(spec: ClaimsSpec) -> list[ClaimRecord]:
    """The generator's rows as claim records (CPT groups by the default sections)."""

    def amount(text: str) -> float | None:
        return float(text) if text else None

    records = []
    for row in generate_rows(spec):
        r = dict(zip(COLUMNS, row, strict=True))
        records.append(
            ClaimRecord(
                payer=r["payer"],
                cpt=r["cpt"],
                cpt_group=default_group(r["cpt"]),
                submitted_date=date.fromisoformat(r["submitted_date"]),
                decided_date=date.fromisoformat(r["decided_date"]) if r["decided_date"] else None,
                outcome=r["outcome"],
                billed_amount=amount(r["billed_amount"]),
                allowed_amount=amount(r["allowed_amount"]),
                paid_amount=amount(r["paid_amount"]),
                denial_reason_code=r["denial_reason_code"],
            )
        )
    return records


def run(records, as_of=END, settings=None):
    settings = settings or DriftSettings()
    return detect(aggregate(records, as_of, settings), settings)


def summary(result) -> set[tuple[str, str, str, str]]:
    return {(f.payer, f.cpt_group, f.drift_type, f.direction) for f in result.findings}


# --- windows ------------------------------------------------------------------------------------


def test_windows_are_fourteen_and_ninety_days_ending_as_of():
    w = windows_for(END)
    assert (w.current_start, w.current_end) == (date(2026, 3, 18), END)
    assert (w.baseline_start, w.baseline_end) == (date(2025, 12, 18), date(2026, 3, 17))
    assert (w.current_days, w.baseline_days, w.max_lag_days) == (14, 90, 120)


def test_windows_end_at_the_last_decision_and_cap_lags_by_the_history():
    w = windows_for(END, data_end=END - timedelta(days=7), data_start=date(2025, 11, 1))
    assert w.current_end == date(2026, 3, 24)
    assert w.current_days == 14
    assert w.max_lag_days == (w.baseline_start - date(2025, 11, 1)).days == 40
    assert windows_for(END, data_end=END + timedelta(days=30)).current_end == END  # a past as_of
    assert windows_for(END, data_start=END).max_lag_days == 0


def test_window_of_a_claim_is_by_decision_date_within_the_lag_horizon():
    w = windows_for(END)
    assert w.window_of(date(2026, 3, 1), date(2026, 3, 20)) == "current"
    assert w.window_of(date(2026, 3, 17), date(2026, 3, 17)) == "baseline"
    assert w.window_of(date(2026, 3, 30), None) is None
    assert w.window_of(date(2026, 3, 30), date(2026, 4, 1)) is None  # after as_of
    assert w.window_of(date(2025, 9, 1), date(2025, 12, 17)) is None  # before the baseline
    assert w.window_of(END - timedelta(days=121), END) is None  # lag 121 > H = 120


def test_percentile_cont_is_postgresqls():
    assert percentile_cont({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2.5
    assert percentile_cont({7: 3}, 0.5) == 7
    assert percentile_cont({2: 90, 10: 270, 60: 100}, 0.5) == 10
    assert percentile_cont({1: 1, 9: 1}, 0.25) == 3.0
    assert percentile_cont({}, 0.5) is None


def test_aggregate_counts_by_window_segment_and_outcome():
    s = END - timedelta(days=30)
    claims = [
        claim(s, 20, "PAID", cpt="99213", allowed=90.0, paid=80.0),  # current
        claim(s, 25, "DENIED", billed=300.0, reason=" co-16 "),  # current
        claim(s, 26, "OTHER"),  # current: decided, not denied
        claim(s, None, "PENDING"),  # no window
        claim(s, 5, "PAID", cpt="99214", allowed=130.0, paid=None),  # baseline
        claim(s, 10, "DENIED", group="Radiology", cpt="71046", billed=None, reason="CO-97"),
        claim(END - timedelta(days=3), 2, "PAID"),  # decided after as_of (= END − 2)
    ]
    as_of = END - timedelta(days=2)
    # explicit windows: with history from 30 days ago only, the lag horizon would be 0 (step 3)
    assert claim_windows(claims, as_of).max_lag_days == 0
    rows = {(r.payer, r.cpt_group): r for r in aggregate(claims, as_of, windows=windows_for(as_of))}
    assert set(rows) == {
        ("Acme Health Plan", "E/M"),
        ("Acme Health Plan", "Radiology"),
        ("Acme Health Plan", ALL),
    }
    em = rows[("Acme Health Plan", "E/M")]
    assert (em.current.days, em.baseline.days) == (14, 90)
    assert (em.current.decided, em.current.denied) == (3, 1)
    assert em.current.denied_billed == Moments(1, 300.0, 90_000.0)
    assert em.current.reasons == {"CO-16": 1}
    assert em.current.decision_days["DENIED"] == Moments.of([25])
    assert em.current.decision_log_days["PAID"] == Moments.of([math.log(21)])
    assert em.current.median_days == 25
    assert em.current.allowed_by_cpt == {"99213": Moments.of([90.0])}
    assert em.current.paid == Moments.of([80.0])
    assert (em.baseline.decided, em.baseline.denied) == (1, 0)
    assert em.baseline.allowed_by_cpt == {"99214": Moments.of([130.0])}
    assert em.baseline.paid == Moments()
    everything = rows[("Acme Health Plan", ALL)]
    assert (everything.baseline.decided, everything.baseline.denied) == (2, 1)
    assert everything.baseline.denied_billed == Moments()  # no billed amount
    assert everything.baseline.reasons == {"CO-97": 1}
    assert everything.baseline.median_days == 7.5


def test_submission_date_windows_would_be_biased_decision_date_windows_are_not():
    """A perfectly stationary payer: each day 2 claims denied after 5 days, 8 paid after 25.
    The claims submitted in the last 14 days that are decided are all denials (20 of 20); the
    claims *decided* in the last 14 days are denied 20 % of the time, as in the baseline."""
    claims = steady_claims(END - timedelta(days=200), END, [(5, "DENIED", 2), (25, "PAID", 8)])
    recent = [c for c in claims if c.submitted_date > END - timedelta(days=14)]
    decided = [c for c in recent if c.decided_date]
    assert {c.outcome for c in decided} == {"DENIED"}  # what a submission window would see
    rows = {r.cpt_group: r for r in aggregate(claims, END)}
    for row in rows.values():
        assert row.current.denial_rate == row.baseline.denial_rate == 0.2
        assert row.current.median_days == row.baseline.median_days == 25
    assert run(claims).findings == []


def test_lag_horizon_gives_both_windows_the_same_maturity():
    """History starting 20 days before the baseline, with a long tail of slow payments (60
    days): the baseline's first weeks cannot contain them, the current window can. Capped at
    H = 20 days, both windows see the same lags and nothing is reported; uncapped, the payer
    seems to decide slower and deny less."""
    settings = DriftSettings()
    first = windows_for(END, settings).baseline_start - timedelta(days=20)
    claims = steady_claims(first, END, [(2, "DENIED", 10), (10, "PAID", 10), (60, "PAID", 30)])
    capped = claim_windows(claims, END, settings)
    assert capped.max_lag_days == 20
    rows = aggregate(claims, END, settings)
    for row in rows:
        assert row.current.denial_rate == row.baseline.denial_rate == 0.5
        assert row.current.median_days == row.baseline.median_days
    assert detect(rows, settings).findings == []

    uncapped = replace(capped, max_lag_days=settings.max_lag_days)
    biased = detect(aggregate(claims, END, settings, windows=uncapped), settings)
    assert {(f.cpt_group, f.drift_type, f.direction) for f in biased.findings} >= {
        (ALL, "denial_rate", "improving"),
        (ALL, "decision_time", "worsening"),
    }


def test_windows_end_with_the_data_not_with_an_empty_week():
    """The last upload is a week old: counting seven empty days in the current window would
    halve its denied dollars per day."""
    claims = steady_claims(
        END - timedelta(days=200), END - timedelta(days=7), [(3, "DENIED", 4), (9, "PAID", 16)]
    )
    assert claim_windows(claims, END).current_end == END - timedelta(days=7)
    assert run(claims).findings == []
    stale = replace(
        claim_windows(claims, END), current_start=END - timedelta(days=13), current_end=END
    )
    stale = replace(
        stale,
        baseline_start=stale.baseline_start + timedelta(days=7),
        baseline_end=stale.current_start - timedelta(days=1),
    )
    biased = detect(aggregate(claims, END, windows=stale))
    assert ("Acme Health Plan", ALL, "denial_dollars", "improving") in summary(biased)


# --- floors, severity, BH -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "cur", "material"),
    [
        (0.10, 0.15, True),  # exactly 5 points
        (0.10, 0.149, False),  # 4.9 points, 49 % relative
        (0.02, 0.0301, True),  # 1 point but 50.5 % relative
        (0.02, 0.0299, False),  # 49.5 % relative
        (0.20, 0.14, True),  # improving by 6 points
    ],
)
def test_denial_rate_floor_is_five_points_or_fifty_percent(base, cur, material):
    n = 100_000  # so large that every difference here is significant
    result = detect([rate_segment(round(base * n), n, round(cur * n), n)])
    assert result.tests_run == 1
    assert result.candidates[0].p_value < 1e-6
    assert len(result.findings) == (1 if material else 0)


def days_window(days, n, paid_mean, denied_mean, median, sd=4.0):
    paid_days = moments(n - n // 5, paid_mean, sd)
    denied_days = moments(n // 5, denied_mean, sd)
    return window(
        days,
        n,
        n // 5,
        decision_days={"PAID": paid_days, "DENIED": denied_days},
        median_days=median,
    )


@pytest.mark.parametrize(("shift", "material"), [(3.0, True), (2.9, False), (-3.0, True)])
def test_decision_time_floor_is_three_days(shift, material):
    base = days_window(90, 5000, 20.0, 7.0, 18.0)
    cur = days_window(14, 5000, 20.0 + shift, 7.0 + shift, 18.0 + shift)
    result = detect([segment(base, cur)])
    found = findings_of(result, "decision_time")
    assert len(found) == (1 if material else 0)
    candidate = next(c for c in result.candidates if c.drift_type == "decision_time")
    assert candidate.details["like_for_like_shift_days"] == approx(shift)
    assert candidate.test == "stratified_welch_t"  # no log moments given: days
    if material:
        assert found[0].direction == ("worsening" if shift > 0 else "improving")
        assert found[0].delta == approx(shift)


def test_decision_time_needs_the_median_and_the_like_for_like_shift_to_agree():
    base = days_window(90, 5000, 20.0, 7.0, 18.0)
    cur = days_window(14, 5000, 25.0, 12.0, 18.5)  # means +5, median +0.5
    assert findings_of(detect([segment(base, cur)]), "decision_time") == []


@pytest.mark.parametrize(("ratio", "material"), [(0.95, True), (0.951, False), (1.05, True)])
def test_payment_amount_floor_is_five_percent(ratio, material):
    base = window(90, 4000, 0, allowed_by_cpt={"99213": moments(4000, 100.0, 5.0)})
    cur = window(14, 4000, 0, allowed_by_cpt={"99213": moments(4000, 100.0 * ratio, 5.0)})
    result = detect([segment(base, cur)])
    found = findings_of(result, "payment_amount")
    assert len(found) == (1 if material else 0)
    if material:
        assert found[0].direction == ("worsening" if ratio < 1 else "improving")
        assert found[0].relative_delta == approx(ratio - 1)


@pytest.mark.parametrize(("per_day", "material"), [(105.0, True), (104.9, False), (95.0, True)])
def test_denial_dollars_floor_is_five_percent(per_day, material):
    # $100 a day in the baseline; huge counts of 10-cent denials make any change significant
    base = window(90, 500_000, 90_000, denied_billed=Moments(90_000, 9000.0, 900.0))
    cur_total, cur_n = per_day * 14, round(per_day * 140)
    cur = window(14, 500_000, cur_n, denied_billed=Moments(cur_n, cur_total, cur_n * 0.01))
    found = findings_of(detect([segment(base, cur)]), "denial_dollars")
    assert len(found) == (1 if material else 0)
    if material:
        assert found[0].baseline_value == approx(100.0)
        assert found[0].revenue_impact == approx((per_day - 100.0) * 30)


def test_severity_and_labels():
    assert severity_of(0.0) == 0.0
    assert severity_of(1.0) == approx(1 - math.exp(-0.5))
    assert label_of(severity_of(1.0)) == "low"  # at the floor
    assert label_of(severity_of(2.0)) == "medium"
    assert label_of(severity_of(3.0)) == "high"
    assert label_of(severity_of(4.0)) == "critical"
    assert severity_of(math.inf) == severity_of(10.0) < 1.0
    assert severity_of(math.nan) == 0.0
    values = [severity_of(m / 4) for m in range(60)]
    assert values == sorted(values)
    assert all(0.0 <= v <= 1.0 for v in values)


def test_candidates_stay_finite_for_storage():
    # a reason never denied before (materiality ∞) and a zero-variance certain difference
    seg = reasons_segment({"CO-97": 300}, {"CO-97": 20, "CO-252": 20})
    seg = replace(
        seg, baseline=replace(seg.baseline, allowed_by_cpt={"99213": moments(40, 90.0, 0.0)})
    )
    seg = replace(
        seg, current=replace(seg.current, allowed_by_cpt={"99213": moments(40, 80.0, 0.0)})
    )
    result = detect([seg])
    by_type = {c.drift_type: c for c in result.candidates}
    assert by_type["payment_amount"].p_value == 0.0
    assert by_type["payment_amount"].details["statistic"] is None  # −inf
    for candidate in result.candidates:
        assert math.isfinite(candidate.materiality)
        assert json.loads(json.dumps(candidate.details, allow_nan=False)) == candidate.details


def test_a_finding_records_what_the_event_needs():
    # 100 of 1000 denied → 60 of 300, a decided claim paying $80 on average
    base = window(90, 1000, 100, paid=Moments(900, 72_000.0, 900 * 6400.0))
    cur = window(14, 300, 60)
    (finding,) = detect([segment(base, cur)]).findings
    assert finding.drift_type == "denial_rate"
    assert (finding.payer, finding.cpt_group) == ("Acme Health Plan", "E/M")
    assert (finding.baseline_value, finding.current_value) == (0.1, 0.2)
    assert finding.delta == approx(0.1)
    assert finding.relative_delta == approx(1.0)
    assert (finding.baseline_n, finding.current_n) == (1000, 300)
    assert finding.test == "two_proportion_z"
    assert finding.direction == "worsening"
    assert finding.materiality == approx(2.0)  # 10 points / 5, 100 % / 50 %
    assert finding.label == "medium"
    assert 0.0 < finding.p_value <= finding.q_value <= 0.05
    # Δ rate × decided per day × 30 days × mean paid per paid claim
    assert finding.revenue_impact == approx(0.1 * 300 / 14 * 30 * 80.0)


def test_minimum_volume_is_thirty_decided_claims_in_each_window():
    assert detect([rate_segment(3, 30, 15, 30)]).segments_examined == 1
    result = detect([rate_segment(3, 30, 15, 29)])
    assert (result.segments_examined, result.tests_run, result.findings) == (0, 0, [])
    assert result.segments_total == 1
    custom = detect([rate_segment(3, 30, 15, 29)], DriftSettings(min_volume=20))
    assert custom.segments_examined == 1


def test_benjamini_hochberg_runs_across_all_tests_of_the_run():
    # 100/1000 → 40/250: z = 2.69, p = 0.007 — a finding on its own …
    suspicious = rate_segment(100, 1000, 40, 250)
    alone = detect([suspicious])
    assert alone.candidates[0].p_value == approx(0.0071, abs=0.0005)
    assert len(alone.findings) == 1
    # … but not among 50 other tests (BH threshold for the smallest: 0.05/51 ≈ 0.001)
    quiet = [rate_segment(100, 1000, 25, 250, payer=f"Payer {i}") for i in range(50)]
    crowded = detect([suspicious, *quiet])
    assert crowded.tests_run == 51
    assert crowded.segments_examined == 51
    assert crowded.findings == []
    assert crowded.q_values[0] == approx(min(1.0, alone.candidates[0].p_value * 51))


# --- stratification -----------------------------------------------------------------------------


def mix_shift_segments(b_rate_now=0.30):
    """Group A denies 5 %, group B 30 %, in both windows; the volume moves from A to B."""

    def group(name, base_n, base_denied, cur_n, cur_denied):
        return segment(window(90, base_n, base_denied), window(14, cur_n, cur_denied), group=name)

    a = group("Pathology/Lab", 900, 45, 100, 5)
    b = group("Surgery", 100, 30, 900, round(900 * b_rate_now))
    payer_wide = segment(
        window(90, 1000, 45 + 30), window(14, 1000, 5 + round(900 * b_rate_now)), group=ALL
    )
    return [a, b, payer_wide]


def test_a_pure_shift_of_cpt_mix_raises_no_payer_wide_event():
    segments = mix_shift_segments()
    crude = next(s for s in segments if s.cpt_group == ALL)
    assert (crude.baseline.denial_rate, crude.current.denial_rate) == (0.075, 0.275)
    result = detect(segments)
    assert result.findings == []
    payer_wide = next(c for c in result.candidates if c.cpt_group == ALL)
    assert payer_wide.test == "cochran_mantel_haenszel"
    assert payer_wide.p_value == 1.0
    assert payer_wide.baseline_value == approx(payer_wide.current_value)  # on today's mix
    assert payer_wide.details["crude_current_rate"] == 0.275


def test_a_real_rise_within_groups_is_a_payer_wide_event():
    result = detect(mix_shift_segments(b_rate_now=0.45))
    assert (ALL, "denial_rate", "worsening") in {
        (f.cpt_group, f.drift_type, f.direction) for f in result.findings
    }
    payer_wide = next(f for f in result.findings if f.cpt_group == ALL)
    assert payer_wide.current_value == approx((5 + 405) / 1000)
    assert payer_wide.baseline_value == approx((100 * 0.05 + 900 * 0.30) / 1000)


def test_decision_time_is_compared_within_outcome():
    """Denials (7 days) and payments (21 days) keep their speed; the share of denials doubles.
    The median and mean of all decided claims fall, the decision time did not change."""
    paid, denied = moments(800, 21.0, 6.0), moments(200, 7.0, 3.0)
    base = window(90, 1000, 200, decision_days={"PAID": paid, "DENIED": denied}, median_days=20.0)
    cur = window(
        14,
        1000,
        400,
        decision_days={"PAID": moments(600, 21.0, 6.0), "DENIED": moments(400, 7.0, 3.0)},
        median_days=16.0,
    )
    candidate = detect_decision_time(segment(base, cur))
    assert candidate is not None
    assert candidate.delta == -4.0
    assert candidate.details["like_for_like_shift_days"] == approx(0.0, abs=1e-9)
    assert candidate.p_value == approx(1.0)
    assert candidate.materiality == 0.0


def test_payment_amount_compares_the_same_cpt_code():
    """More of the expensive code, prices unchanged: the mean allowed per claim rises, the
    like-for-like comparison sees nothing; a 10 % cut on one code is seen."""
    base = window(
        90,
        2000,
        0,
        allowed_by_cpt={"99213": moments(1500, 92.0, 4.0), "99215": moments(500, 184.0, 8.0)},
    )
    cur = window(
        14,
        2000,
        0,
        allowed_by_cpt={"99213": moments(500, 92.0, 4.0), "99215": moments(1500, 184.0, 8.0)},
    )
    same = detect_payment_amount(segment(base, cur))
    assert same is not None
    assert same.current_value == same.baseline_value == approx((500 * 92 + 1500 * 184) / 2000)
    assert same.p_value == approx(1.0)
    cut = window(
        14,
        2000,
        0,
        allowed_by_cpt={"99213": moments(500, 92.0, 4.0), "99215": moments(1500, 165.6, 8.0)},
    )
    candidate = detect_payment_amount(segment(base, cut))
    assert candidate.direction == "worsening"
    assert candidate.relative_delta == approx(-0.1 * 1500 * 184 / (500 * 92 + 1500 * 184))
    # −Δ allowed per claim × paid claims per day × 30
    assert candidate.revenue_impact == approx(-candidate.delta * 2000 / 14 * 30)
    # codes paid in one window only are not compared
    only_now = window(14, 40, 0, allowed_by_cpt={"99204": moments(40, 167.0, 5.0)})
    assert detect_payment_amount(segment(base, only_now)) is None


# --- new denial reasons -------------------------------------------------------------------------


def reasons_segment(base_reasons, cur_reasons):
    base = window(90, 3000, sum(base_reasons.values()), reasons=base_reasons)
    cur = window(14, 500, sum(cur_reasons.values()), reasons=cur_reasons)
    return segment(base, cur, group=ALL)


def test_a_reason_absent_from_the_baseline_and_frequent_now_is_found():
    common = {"CO-97": 100, "CO-16": 100, "CO-50": 100}
    seg = reasons_segment(common, {"CO-97": 15, "CO-16": 15, "CO-50": 15, "CO-252": 12})
    (finding,) = findings_of(detect([seg]), "new_denial_reason")
    assert finding.reason_code == "CO-252"
    assert finding.baseline_value == approx(0.5 / 301)  # Jeffreys prior on 0 of 300
    assert finding.current_value == approx(12 / 57)
    assert finding.test == "poisson_exact_one_sided"
    assert finding.direction == "worsening"
    assert (finding.baseline_n, finding.current_n) == (300, 57)
    # common reasons are not candidates at all
    assert {c.reason_code for c in detect_new_denial_reasons(seg)} == {"CO-252"}


def test_a_new_reason_needs_a_few_occurrences_and_a_payer_wide_segment():
    common = {"CO-97": 100, "CO-16": 100, "CO-50": 100}
    seg = reasons_segment(common, {"CO-97": 15, "CO-16": 15, "CO-50": 15, "CO-252": 4})
    (candidate,) = detect_new_denial_reasons(seg)
    assert candidate.p_value < 0.05  # significant, yet 4 < 5 occurrences
    assert candidate.materiality == 0.0
    assert findings_of(detect([seg])) == []
    per_group = replace(seg, cpt_group="E/M")
    assert detect_new_denial_reasons(per_group) == []


def test_several_new_reasons_of_a_payer_make_one_event():
    common = {"CO-97": 100, "CO-16": 100, "CO-50": 100}
    seg = reasons_segment(common, {"CO-97": 15, "CO-16": 15, "CO-252": 14, "N-290": 9})
    result = detect([seg])
    assert sum(c.drift_type == "new_denial_reason" for c in result.candidates) == 2
    (finding,) = findings_of(result, "new_denial_reason")
    assert finding.reason_code == "CO-252"
    assert finding.details["other_reason_codes"] == ["N-290"]


# --- end to end on the claims generator -----------------------------------------------------------

ROWS = 40_000
PAYERS_DRIFTING = {
    "Aetna": Drift("Aetna", END - timedelta(days=45), denial_rate=0.20),  # base 8 %
    "Kaiser Permanente": Drift("Kaiser Permanente", END - timedelta(days=45), denial_rate=0.01),
    "Cigna": Drift("Cigna", END - timedelta(days=45), extra_decision_days=10),
    "Humana": Drift("Humana", END - timedelta(days=45), allowed_factor=0.85),
    # a reason appearing in the last weeks (one already in the baseline is not "new")
    "Medicaid": Drift("Medicaid", END - timedelta(days=16), new_reason=("CO-252", "Attachment")),
}
# what each planted drift may show: its own type, and what follows from it on the same payer
# (a payer denying more also denies more dollars per day)
EXPECTED = {
    "Aetna": ({("denial_rate", "worsening")}, {("denial_dollars", "worsening")}),
    "Kaiser Permanente": ({("denial_rate", "improving")}, {("denial_dollars", "improving")}),
    "Cigna": ({("decision_time", "worsening")}, set()),
    "Humana": ({("payment_amount", "worsening")}, set()),
    "Medicaid": ({("new_denial_reason", "worsening")}, set()),
}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stationary_generator_data_with_adjudication_lag_yields_nothing(seed):
    records = claim_records(ClaimsSpec(rows=ROWS, days=180, end=END, seed=seed))
    pending = sum(r.outcome == "PENDING" for r in records)
    assert pending > 1000  # the recent weeks are largely undecided
    result = run(records)
    assert result.segments_examined >= 40
    assert result.tests_run >= 150
    assert result.findings == []


def test_submission_date_windows_on_the_same_data_would_cry_drift():
    """The contrast that shows the windowing matters: windowed by submission date (a claim
    placed on the day it was submitted), stationary data looks denial-heavy now."""
    records = claim_records(ClaimsSpec(rows=ROWS, days=180, end=END, seed=1))
    by_submission = [
        replace(r, decided_date=r.submitted_date) if r.decided_date else r for r in records
    ]
    result = run(by_submission)
    assert len({f.payer for f in result.findings if f.drift_type == "denial_rate"}) >= 4
    assert {f.direction for f in result.findings if f.drift_type == "denial_rate"} == {"worsening"}


@pytest.fixture(scope="module")
def drifted():
    spec = ClaimsSpec(rows=ROWS, days=180, end=END, seed=11, drifts=list(PAYERS_DRIFTING.values()))
    return run(claim_records(spec))


@pytest.mark.parametrize("payer", sorted(EXPECTED))
def test_each_planted_drift_is_found_payer_wide_with_its_type_and_direction(drifted, payer):
    required, _ = EXPECTED[payer]
    payer_wide = {
        (f.drift_type, f.direction)
        for f in drifted.findings
        if f.payer == payer and f.cpt_group == ALL
    }
    assert required <= payer_wide


@pytest.mark.parametrize("payer", sorted(EXPECTED))
def test_a_planted_drift_shows_nothing_but_itself_and_its_consequences(drifted, payer):
    required, consequences = EXPECTED[payer]
    shown = {(f.drift_type, f.direction) for f in drifted.findings if f.payer == payer}
    assert shown <= required | consequences


def test_payers_without_a_planted_drift_show_nothing(drifted):
    assert {f.payer for f in drifted.findings} == set(EXPECTED)


def test_planted_drift_findings_carry_sensible_values(drifted):
    def payer_wide(payer, drift_type):
        return next(
            f
            for f in drifted.findings
            if (f.payer, f.cpt_group, f.drift_type) == (payer, ALL, drift_type)
        )

    slower = payer_wide("Cigna", "decision_time")
    assert 4 <= slower.details["like_for_like_shift_days"] <= 11  # +10 days, partly in baseline
    assert slower.delta >= 3
    assert slower.revenue_impact > 0
    cheaper = payer_wide("Humana", "payment_amount")
    assert cheaper.relative_delta == approx(-0.15, abs=0.04)
    assert cheaper.revenue_impact > 0
    reason = payer_wide("Medicaid", "new_denial_reason")
    assert reason.reason_code == "CO-252"
    assert reason.current_value > 0.3
    denying = payer_wide("Aetna", "denial_rate")
    assert denying.test == "cochran_mantel_haenszel"
    assert denying.current_value > denying.baseline_value + 0.05
    assert denying.label in {"high", "critical"}
    better = payer_wide("Kaiser Permanente", "denial_rate")
    assert better.revenue_impact < 0
    for finding in drifted.findings:
        assert 0.0 <= finding.p_value <= finding.q_value <= 0.05
        assert finding.is_material
        assert 0.0 < finding.severity < 1.0


def plant_group_denials(records, payer, group, start, extra, seed):
    """From ``start`` on, claims of (payer, group) that would not have been denied are denied
    with probability ``extra``, decided with the generator's denial lag (Gamma(3, 2.5) days)."""
    rng = random.Random(seed)
    end = max(r.decided_date for r in records if r.decided_date)
    out = []
    for r in records:
        if (
            (r.payer, r.cpt_group) == (payer, group)
            and r.submitted_date >= start
            and r.outcome != "DENIED"
            and rng.random() < extra
        ):
            decided = r.submitted_date + timedelta(days=max(1, int(rng.gammavariate(3.0, 2.5))))
            if decided > end:
                r = replace(
                    r, decided_date=None, outcome="PENDING", allowed_amount=None, paid_amount=None
                )
            else:
                r = replace(
                    r,
                    decided_date=decided,
                    outcome="DENIED",
                    allowed_amount=0.0,
                    paid_amount=0.0,
                    denial_reason_code=rng.choice(REASONS)[0],
                )
        out.append(r)
    return out


def test_a_rate_change_in_one_cpt_group_is_found_for_that_group():
    records = claim_records(ClaimsSpec(rows=ROWS, days=180, end=END, seed=5))
    planted = plant_group_denials(
        records, "UnitedHealthcare", "E/M", END - timedelta(days=45), 0.25, seed=5
    )
    result = run(planted)
    found = summary(result)
    assert ("UnitedHealthcare", "E/M", "denial_rate", "worsening") in found
    # no other group of that payer, and no other payer; the payer-wide rate may follow
    assert {(p, g) for p, g, _, _ in found} <= {
        ("UnitedHealthcare", "E/M"),
        ("UnitedHealthcare", ALL),
    }
    assert {t for _, _, t, _ in found} <= {"denial_rate", "denial_dollars"}
