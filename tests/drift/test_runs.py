"""Drift runs against the real database: the SQL mirrors the reference windowing, planted drifts
are found, stationary data yields nothing, and events are written exactly once."""

import json
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from portal.claims import generator
from portal.claims import services as claims
from portal.claims.models import Payer
from portal.drift import aggregates, detectors, services
from portal.drift.models import DriftEvent, DriftRun, RunStatus
from tests.factories import CustomerFactory

AS_OF = date(2026, 6, 30)
START = AS_OF - timedelta(days=20)
PLANTED = [
    generator.Drift("Humana", START, denial_rate=0.35),
    generator.Drift("Cigna", START - timedelta(days=15), extra_decision_days=10),
    generator.Drift("UnitedHealthcare", START - timedelta(days=15), allowed_factor=0.8),
    generator.Drift("Aetna", START, new_reason=("CO-252", "Attachment required")),
    generator.Drift("Medicaid", START - timedelta(days=10), denial_rate=0.02),  # improving
]


def spec(**changes) -> generator.ClaimsSpec:
    return generator.ClaimsSpec(**{"rows": 40_000, "end": AS_OF, "days": 180, "seed": 5, **changes})


def load(customer, tmp_path: Path, claims_spec: generator.ClaimsSpec) -> None:
    path = generator.write_csv(claims_spec, tmp_path / f"{customer.slug}.csv")
    assert claims.ingest_file(customer=customer, raw_path=str(path)).status == "succeeded"


@pytest.fixture
def drifting(db, tmp_path):
    customer = CustomerFactory(slug="drifting")
    load(customer, tmp_path, spec(drifts=PLANTED))
    return customer


@pytest.fixture
def steady(db, tmp_path):
    customer = CustomerFactory(slug="steady")
    load(customer, tmp_path, spec(seed=6))
    return customer


def found(run: DriftRun) -> set[tuple[str, str, str]]:
    return {
        (e.drift_type, e.payer.name, e.direction)
        for e in DriftEvent.objects.filter(run=run).select_related("payer")
    }


def test_sql_aggregates_equal_the_reference_windowing(drifting):
    """The grouped SQL computes exactly what detectors.aggregate computes from plain records."""
    windows = aggregates.run_windows(drifting.pk, AS_OF)
    names = {str(p.pk): p.name for p in Payer.objects.filter(customer=drifting)}
    from_sql = {
        (names[s.payer], s.cpt_group): s
        for s in aggregates.segment_aggregates(drifting.pk, windows)
    }
    records = [
        detectors.ClaimRecord(
            payer=row[1], cpt=row[2], cpt_group=group, outcome=row[5],
            submitted_date=date.fromisoformat(row[3]),
            decided_date=date.fromisoformat(row[4]) if row[4] else None,
            billed_amount=float(row[6]) if row[6] else None,
            allowed_amount=float(row[7]) if row[7] else None,
            paid_amount=float(row[8]) if row[8] else None,
            denial_reason_code=row[9],
        )
        for row in generator.generate_rows(spec(drifts=PLANTED))
        for group in [claims_default_group(row[2])]
    ]  # fmt: skip
    reference = {
        (s.payer, s.cpt_group): s for s in detectors.aggregate(records, AS_OF, windows=windows)
    }
    assert set(from_sql) == set(reference)
    for key, ref in reference.items():
        got = from_sql[key]
        for window in ("baseline", "current"):
            a, b = getattr(got, window), getattr(ref, window)
            assert (a.decided, a.denied, dict(a.reasons)) == (
                b.decided,
                b.denied,
                dict(b.reasons),
            ), key
            assert a.median_days == b.median_days, key
            assert a.denied_billed.n == b.denied_billed.n
            assert a.denied_billed.total == pytest.approx(b.denied_billed.total)
            assert a.paid.total == pytest.approx(b.paid.total)
            assert set(a.allowed_by_cpt) == set(b.allowed_by_cpt)
            for outcome, moments in b.decision_log_days.items():
                assert a.decision_log_days[outcome].total == pytest.approx(moments.total)


def claims_default_group(cpt: str) -> str:
    from portal.claims.cpt import default_group

    return default_group(cpt)


def test_every_planted_drift_is_found_with_its_direction(drifting):
    run = services.detect_now(customer=drifting, as_of=AS_OF)
    assert run.status == RunStatus.SUCCEEDED, run.error
    events = found(run)
    assert ("denial_rate", "Humana", "worsening") in events
    assert ("decision_time", "Cigna", "worsening") in events
    assert ("payment_amount", "UnitedHealthcare", "worsening") in events
    assert ("new_denial_reason", "Aetna", "worsening") in events
    assert ("denial_rate", "Medicaid", "improving") in events
    planted = {d.payer for d in PLANTED}
    assert {payer for _, payer, _ in events} <= planted  # nothing on the steady payers


def test_stationary_data_with_real_lag_yields_no_event(steady):
    run = services.detect_now(customer=steady, as_of=AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.segments_examined > 10 and run.tests_run > 40
    assert DriftEvent.objects.filter(customer=steady).count() == 0


def test_a_rerun_of_the_same_window_updates_instead_of_duplicating(drifting):
    first = services.detect_now(customer=drifting, as_of=AS_OF)
    second = services.detect_now(customer=drifting, as_of=AS_OF)
    assert first.events_created > 0 and first.events_updated == 0
    assert second.events_created == 0 and second.events_updated == first.events_created
    assert DriftEvent.objects.filter(customer=drifting).count() == first.events_created
    assert set(DriftEvent.objects.filter(customer=drifting).values_list("run", flat=True)) == {
        second.pk
    }


def test_run_records_its_windows_and_counts(drifting):
    run = services.detect_now(customer=drifting, as_of=AS_OF)
    assert run.current_end == AS_OF and run.baseline_end == run.current_start - timedelta(days=1)
    assert (run.current_end - run.current_start).days == 13
    assert run.segments_total >= run.segments_examined > 0 and run.seconds is not None


def test_a_failing_run_is_marked_failed_with_its_error(drifting, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(aggregates, "segment_aggregates", boom)
    run = services.detect_now(customer=drifting, as_of=AS_OF)
    assert run.status == RunStatus.FAILED and "database went away" in run.error
    assert not DriftEvent.objects.filter(customer=drifting).exists()


def test_command_prints_one_json_object(drifting, capsys):
    call_command("detect_drift", "--customer", "drifting", "--as-of", AS_OF.isoformat(), "--json")
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {"run_id", "status", "as_of", "segments", "tests", "events"}
    assert body["status"] == "succeeded" and body["as_of"] == AS_OF.isoformat()
    expected = {"drift_type", "payer", "cpt_group", "direction", "baseline_value"}
    expected |= {"current_value", "delta", "p_value", "severity", "baseline_n", "current_n"}
    assert expected <= set(body["events"][0])
    assert any(e["cpt_group"] == "ALL" for e in body["events"])


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_never_duplicate_events(tmp_path):
    customer = CustomerFactory(slug="racing")
    load(customer, tmp_path, spec(drifts=PLANTED, rows=20_000))
    barrier = threading.Barrier(4)
    runs: list[DriftRun] = []

    def start():
        try:
            run = services.run_create(customer=customer, as_of=AS_OF, trigger="test")
            barrier.wait()
            runs.append(services.run_execute(run))
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 4
    events = DriftEvent.objects.filter(customer=customer)
    keys = list(events.values_list("payer", "cpt_group", "drift_type", "current_start"))
    assert len(keys) == len(set(keys)) > 0
    # the upload itself queued a run (its task ran at commit); every event was created once
    all_runs = DriftRun.objects.filter(customer=customer)
    assert all_runs.filter(trigger="upload", status=RunStatus.SUCCEEDED).count() == 1
    assert sum(r.events_created for r in all_runs) == len(keys)


def test_a_weekly_schedule_runs_detection_for_every_customer(drifting, steady):
    from django_q.models import Schedule

    from portal.drift import tasks

    Schedule.objects.filter(name="drift-weekly").delete()  # as after a flush of the database
    services.ensure_weekly_schedule()
    services.ensure_weekly_schedule()  # idempotent
    schedule = Schedule.objects.get(name="drift-weekly")
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "portal.drift.tasks.detect_all",
        Schedule.WEEKLY,
        -1,
    )
    assert tasks.detect_all("schedule") == 2  # unit tests run the queued tasks inline
    runs = DriftRun.objects.filter(trigger="schedule")
    assert set(runs.values_list("customer__slug", flat=True)) == {"drifting", "steady"}
    assert set(runs.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}


def test_events_filter_by_status_active_or_past(drifting):
    from portal.drift.filters import DriftEventFilter

    older = services.detect_now(customer=drifting, as_of=AS_OF - timedelta(days=7))
    latest = services.detect_now(customer=drifting, as_of=AS_OF)
    events = DriftEvent.objects.filter(customer=drifting)

    def ids(status):
        qs = DriftEventFilter({"status": status}, queryset=events, customer=drifting).qs
        return set(qs.values_list("run", flat=True))

    assert ids("active") == {latest.pk}
    assert older.pk in ids("past") and latest.pk not in ids("past")
