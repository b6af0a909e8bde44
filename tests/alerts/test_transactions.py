"""Alerts commit with the drift run that raised them, or not at all; concurrent runs of one
customer never raise one (rule, event) twice nor e-mail it twice (real PostgreSQL, threads)."""

import threading
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection

from portal.alerts.models import Alert
from portal.claims import generator
from portal.claims import services as claims
from portal.drift import services as drift
from portal.drift.models import DriftEvent, RunStatus
from tests.alerts.conftest import rule
from tests.factories import CustomerFactory

AS_OF = date(2026, 6, 30)
START = AS_OF - timedelta(days=20)
PLANTED = [
    generator.Drift("Humana", START, denial_rate=0.35),
    generator.Drift("Cigna", START - timedelta(days=15), extra_decision_days=10),
    generator.Drift("Aetna", START, new_reason=("CO-252", "Attachment required")),
]


def drifting_customer(slug: str, tmp_path: Path, rows: int):
    customer = CustomerFactory(slug=slug)
    spec = generator.ClaimsSpec(rows=rows, end=AS_OF, days=180, seed=5, drifts=PLANTED)
    path = generator.write_csv(spec, tmp_path / f"{slug}.csv")
    assert claims.ingest_file(customer=customer, raw_path=str(path)).status == "succeeded"
    mail.outbox.clear()
    return customer


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_leaves_no_alert_and_sends_nothing(tmp_path, monkeypatch):
    customer = drifting_customer("rollback", tmp_path, rows=16_000)
    rule(customer, cooldown_hours=0)
    evaluate = drift.alerts_evaluate
    written = []

    def evaluate_then_fail(**kwargs):
        written.extend(evaluate(**kwargs))  # events and alerts are written…
        assert Alert.objects.filter(customer=customer).exists()
        raise RuntimeError("disk full")  # …and the run dies before it commits

    monkeypatch.setattr(drift, "alerts_evaluate", evaluate_then_fail)
    run = drift.detect_now(customer=customer, as_of=AS_OF)
    assert run.status == RunStatus.FAILED and "disk full" in run.error
    assert written, "the run raised no alert before failing: the test proves nothing"
    assert not Alert.objects.filter(customer=customer).exists()
    assert not DriftEvent.objects.filter(customer=customer, run=run).exists()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_raise_and_email_each_alert_once(tmp_path):
    customer = drifting_customer("racing", tmp_path, rows=20_000)
    rule(customer, name="Everything", direction="any", cooldown_hours=0)
    rule(customer, name="Denials", drift_types=["denial_rate", "new_denial_reason"],
         cooldown_hours=0)  # fmt: skip
    barrier = threading.Barrier(4)
    runs = []

    def start():
        try:
            run = drift.run_create(customer=customer, as_of=AS_OF, trigger="test")
            barrier.wait()
            runs.append(drift.run_execute(run))
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 4
    alerts = Alert.objects.filter(customer=customer)
    pairs = Counter(alerts.values_list("rule_id", "event_id"))
    assert pairs and max(pairs.values()) == 1
    events = DriftEvent.objects.filter(customer=customer, current_end=AS_OF).count()
    assert alerts.filter(rule_name="Everything").count() == events  # every event, once
    assert alerts.filter(rule_name="Denials").count() > 0
    assert len(mail.outbox) == alerts.count()  # one message per alert
    assert set(alerts.values_list("notify_status", flat=True)) == {"sent"}
