"""Fault drill (issue #9): the worker is killed in the middle of a drift run.

The run must not stay "running" forever (it is marked failed with the reason), no event of the
half-done run may survive, and the next run finds every drift exactly once.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from django_q.models import OrmQ

from portal.drift import services
from portal.drift.models import DriftEvent, DriftRun, RunStatus
from tests.core.test_task_queue import database_url
from tests.drift.test_runs import AS_OF, PLANTED, load, spec
from tests.factories import CustomerFactory


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_leaves_a_failed_run_and_no_duplicates(tmp_path):
    customer = CustomerFactory(slug="drill")
    load(customer, tmp_path, spec(drifts=PLANTED, rows=20_000))
    OrmQ.objects.all().delete()  # the upload queued a run of its own: only ours is wanted

    # Hold the customer's run lock from outside, so the worker's run is caught mid-way: marked
    # running, inside its transaction, waiting.
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    blocker = psycopg.connect(**params)
    blocker.execute(
        "SELECT pg_advisory_xact_lock(%s, %s)", [services.ADVISORY_NAMESPACE, customer.pk]
    )
    env = {**os.environ, "DATABASE_URL": database_url(), "Q_WORKERS": "1", "Q_SYNC": "false"}
    worker = subprocess.Popen(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: one kill takes all its processes
    )
    try:
        with transaction.atomic():
            run = services.run_request(customer=customer, actor=None, trigger="api", as_of=AS_OF)
        _wait_for(
            lambda: DriftRun.objects.get(pk=run.pk).status == RunStatus.RUNNING, 60, "the run"
        )
        os.killpg(worker.pid, signal.SIGKILL)  # the machine loses the worker, mid-run
        worker.wait(30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        blocker.rollback()
        blocker.close()

    # PostgreSQL notices the dead backend and rolls its transaction back.
    def backend_gone():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s",
                ["%pg_advisory_xact_lock%"],
            )
            return cursor.fetchone()[0] == 0

    _wait_for(backend_gone, 30, "the killed worker's backend to go away")
    assert DriftRun.objects.get(pk=run.pk).status == RunStatus.RUNNING  # stuck, until recovery
    assert services.runs_recover(older_than=timedelta(0)) == [run.pk]
    stuck = DriftRun.objects.get(pk=run.pk)
    assert stuck.status == RunStatus.FAILED and "worker stopped" in stuck.error
    assert not DriftEvent.objects.filter(customer=customer).exists()

    again = services.detect_now(customer=customer, as_of=AS_OF)
    assert again.status == RunStatus.SUCCEEDED and again.events_created > 0
    services.run_execute(stuck)  # a late re-delivery of the dead task changes nothing
    assert DriftRun.objects.get(pk=run.pk).status == RunStatus.FAILED
    keys = list(
        DriftEvent.objects.filter(customer=customer).values_list(
            "payer", "cpt_group", "drift_type", "current_start"
        )
    )
    assert len(keys) == len(set(keys)) == again.events_created


@pytest.mark.django_db(transaction=True)
def test_recovery_leaves_a_run_that_holds_its_lock_alone(tmp_path):
    customer = CustomerFactory(slug="busy")
    run = services.run_create(customer=customer, trigger="test")
    DriftRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=run.created_at)
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params) as executing:
        executing.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [services.ADVISORY_NAMESPACE, customer.pk]
        )
        assert services.runs_recover(older_than=timedelta(0)) == []
        executing.rollback()
    assert DriftRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    assert services.runs_recover(older_than=timedelta(0)) == [run.pk]


@pytest.mark.django_db
def test_the_recovery_schedule_exists_and_is_restored():
    from django_q.models import Schedule

    Schedule.objects.filter(name="drift-recover").delete()
    services.ensure_recovery_schedule()
    services.ensure_recovery_schedule()
    schedule = Schedule.objects.get(name="drift-recover")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "portal.drift.tasks.recover", Schedule.MINUTES, 5,
    )  # fmt: skip
