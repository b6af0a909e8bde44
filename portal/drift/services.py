"""Drift runs (PRODUCT §4): aggregate in SQL, detect in Python, store the events exactly once.

Exactly once:
1. A run takes a transaction-level advisory lock on its customer, so runs of one customer are
   serialised: a second run started at the same moment waits for the first, then runs on the
   committed events.
2. An event's natural key (customer, payer, CPT group, drift type, current window) is a unique
   constraint; events are written with ``INSERT … ON CONFLICT (natural key) DO UPDATE``, so a
   re-run of the same window updates its events instead of adding new ones — and nothing relies on
   catching an ``IntegrityError`` inside the transaction.
3. The run's events and its counts commit together, or not at all (the run is then marked
   failed, with the error, in a transaction of its own).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from portal.accounts.models import Customer, User
from portal.alerts.services import alerts_evaluate
from portal.audit.actions import Action
from portal.audit.services import record
from portal.core.exceptions import NotAllowed
from portal.core.tasks import enqueue
from portal.dashboard import services as dashboard
from portal.drift import aggregates
from portal.drift.detectors import DriftSettings
from portal.drift.detectors import detect as run_detectors
from portal.drift.models import DetectionSettings, DriftRun, RunStatus
from portal.webhooks import events as webhook_events

log = logging.getLogger(__name__)
ADVISORY_NAMESPACE = 7_302  # pg_advisory_xact_lock(namespace, customer_id): drift runs

_EVENT_COLUMNS = [
    "customer_id", "payer_id", "cpt_group", "drift_type", "baseline_start", "baseline_end",
    "current_start", "current_end", "baseline_value", "current_value", "delta", "relative_delta",
    "baseline_n", "current_n", "p_value", "q_value", "test", "direction", "severity", "label",
    "revenue_impact", "reason_code", "details", "run_id", "created_at", "updated_at",
]  # fmt: skip
_KEY = ["customer_id", "payer_id", "cpt_group", "drift_type", "current_start", "current_end"]
_UPSERT_EVENT = f"""
INSERT INTO drift_driftevent ({", ".join(_EVENT_COLUMNS)})
VALUES ({", ".join(["%s"] * len(_EVENT_COLUMNS))})
ON CONFLICT ({", ".join(_KEY)}) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _EVENT_COLUMNS if c not in [*_KEY, "created_at"])}
RETURNING id, (xmax = 0)
"""


@transaction.atomic
def detection_settings_save(
    *,
    customer: Customer,
    actor: User | None,
    current_days: int,
    baseline_days: int,
    min_volume: int,
) -> DetectionSettings:
    """Change a customer's windows and minimum volume (admins); audited; used from the next run."""
    if actor is not None and not actor.has_perm("accounts.manage_detection_settings", customer):
        raise NotAllowed("Your role at this customer does not allow changing detection settings.")
    stored, _ = DetectionSettings.objects.select_for_update().get_or_create(customer=customer)
    stored.current_days, stored.baseline_days, stored.min_volume = (
        current_days, baseline_days, min_volume,
    )  # fmt: skip
    stored.save()
    record(
        action=Action.DETECTION_SETTINGS_SAVED,
        actor=actor,
        customer=customer,
        obj=stored,
        data={
            "current_days": current_days,
            "baseline_days": baseline_days,
            "min_volume": min_volume,
        },
    )
    return stored


def ensure_weekly_schedule() -> None:
    """The ``drift-weekly`` django-q2 schedule exists (its migration creates it; a database
    flushed since, e.g. by a test suite, gets it back here)."""
    from importlib import import_module

    from django_q.models import Schedule

    migration = import_module("portal.drift.migrations.0002_weekly_schedule")
    migration.ensure_weekly_schedule(Schedule)


def settings_for(customer: Customer) -> DriftSettings:
    stored = DetectionSettings.objects.filter(customer=customer).first()
    if stored is None:
        return DriftSettings()
    return DriftSettings(
        current_days=stored.current_days,
        baseline_days=stored.baseline_days,
        min_volume=stored.min_volume,
    )


def run_create(
    *, customer: Customer, as_of: date | None = None, trigger: str, actor: User | None = None
) -> DriftRun:
    return DriftRun.objects.create(
        customer=customer,
        as_of=as_of or timezone.localdate(),
        trigger=trigger,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
    )


def run_execute(run: DriftRun) -> DriftRun:
    """Run detection for a created run; never raises for a failed run (it records the error).

    A run that already finished is left alone, so a task handed out twice does no harm.
    """
    claimed = DriftRun.objects.filter(
        pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).update(status=RunStatus.RUNNING, started_at=timezone.now())
    if not claimed:
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    try:
        with transaction.atomic():
            _execute(run)
    except Exception as exc:
        log.exception("drift run %s failed", run.pk)
        DriftRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
    dashboard.invalidate(run.customer_id)  # on commit: the dashboard shows this run
    run.refresh_from_db()
    return run


def _execute(run: DriftRun) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [ADVISORY_NAMESPACE, run.customer_id]
        )
    settings = settings_for(run.customer)
    windows = aggregates.run_windows(run.customer_id, run.as_of, settings)
    segments = aggregates.segment_aggregates(run.customer_id, windows)
    result = run_detectors(segments, settings)
    created = updated = 0
    written: list[tuple[int, bool]] = []  # (event id, inserted): for webhooks and alerts
    now = timezone.now()
    with connection.cursor() as cursor:
        for finding in result.findings:
            values = [
                run.customer_id, int(finding.payer), finding.cpt_group, finding.drift_type,
                windows.baseline_start, windows.baseline_end, windows.current_start,
                windows.current_end, finding.baseline_value, finding.current_value,
                finding.delta, finding.relative_delta, finding.baseline_n, finding.current_n,
                finding.p_value, finding.q_value, finding.test, finding.direction,
                finding.severity, finding.label, Decimal(str(round(finding.revenue_impact, 2))),
                finding.reason_code, json.dumps(finding.details, default=str), run.pk, now, now,
            ]  # fmt: skip
            cursor.execute(_UPSERT_EVENT, values)
            event_id, inserted = cursor.fetchone()
            written.append((event_id, inserted))
            created += int(inserted)
            updated += int(not inserted)
    DriftRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED,
        parameters={"settings": asdict(settings), "horizon_days": windows.max_lag_days},
        baseline_start=windows.baseline_start,
        baseline_end=windows.baseline_end,
        current_start=windows.current_start,
        current_end=windows.current_end,
        segments_total=result.segments_total,
        segments_examined=result.segments_examined,
        tests_run=result.tests_run,
        events_created=created,
        events_updated=updated,
        finished_at=timezone.now(),
    )
    webhook_events.drift_run_completed(run=run, events=written)
    # Alerts commit with the events that raised them, or not at all (PRODUCT §5).
    alerts_evaluate(customer=run.customer, event_ids=[event_id for event_id, _ in written])


ORPHAN_ERROR = (
    "The worker stopped during this run (it was killed or lost its database connection); "
    "nothing it found was kept. Run detection again."
)


def runs_recover(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Mark runs left "running" by a worker that died as failed; returns their ids.

    1. A run executing holds its customer's advisory lock for its whole transaction.
    2. So when that lock is free, no run of the customer is executing: every run still marked
       running (for longer than ``older_than``, which covers the instant between marking a run
       running and taking the lock) was orphaned, and its events were rolled back with it.
    3. Such runs are marked failed with the reason; the next run finds the drifts again, once.
    """
    cutoff = timezone.now() - older_than
    customers = (
        DriftRun.objects.filter(status=RunStatus.RUNNING, started_at__lte=cutoff)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    recovered: list[int] = []
    for customer_id in list(customers):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)", [ADVISORY_NAMESPACE, customer_id]
            )
            (free,) = cursor.fetchone()
            if not free:
                continue  # a run of this customer is executing right now
            orphans = list(
                DriftRun.objects.select_for_update()
                .filter(customer_id=customer_id, status=RunStatus.RUNNING, started_at__lte=cutoff)
                .values_list("pk", flat=True)
            )
            DriftRun.objects.filter(pk__in=orphans).update(
                status=RunStatus.FAILED, error=ORPHAN_ERROR, finished_at=timezone.now()
            )
            recovered += orphans
    if recovered:
        log.warning("marked orphaned drift runs as failed: %s", recovered)
    return recovered


def ensure_recovery_schedule() -> None:
    """The ``drift-recover`` schedule exists (migration 0003; restored after a flush)."""
    from importlib import import_module

    from django_q.models import Schedule

    migration = import_module("portal.drift.migrations.0003_recovery_schedule")
    migration.ensure_recovery_schedule(Schedule)


@transaction.atomic
def run_request(
    *, customer: Customer, actor: User | None, trigger: str, as_of: date | None = None
) -> DriftRun:
    """Queue a run for a worker (portal, API): it starts after this transaction commits."""
    if actor is not None and not actor.has_perm("accounts.run_detection", customer):
        raise NotAllowed("Your role at this customer does not allow running detection.")
    run = run_create(customer=customer, as_of=as_of, trigger=trigger, actor=actor)
    record(
        action=Action.DRIFT_RUN_REQUESTED,
        actor=actor,
        customer=customer,
        obj=run,
        data={"as_of": run.as_of.isoformat(), "trigger": trigger},
    )
    enqueue("portal.drift.tasks.execute_run", run.pk)
    return run


def detect_now(
    *, customer: Customer, as_of: date | None = None, trigger: str = "command", actor=None
) -> DriftRun:
    """Create and execute a run in this process (the command, the demo, tests)."""
    return run_execute(run_create(customer=customer, as_of=as_of, trigger=trigger, actor=actor))
