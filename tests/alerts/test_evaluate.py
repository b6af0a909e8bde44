"""Alerts raised by ``alerts_evaluate`` on real drift events: rule filters, cooldown and learned
noise suppression with a controlled clock, and the drift run → alert → e-mail path end to end."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from portal.alerts import services
from portal.alerts.models import Alert, NotifyStatus
from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims import generator
from portal.claims import services as claims
from portal.drift import services as drift
from portal.drift.models import DriftEvent, RunStatus
from tests.alerts.conftest import evaluate, event, payer, rule

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


def raised(alerts) -> set[tuple[str, int]]:
    return {(a.rule_name, a.event_id) for a in alerts}


# -- filters, on real events ----------------------------------------------------------------------


def test_each_rule_filter_on_stored_events(acme):
    humana_em = event(acme, "Humana", cpt_group="E/M", severity=0.5)
    cigna_all = event(acme, "Cigna", drift_type="decision_time", severity=0.9)
    improving = event(acme, "Aetna", direction="improving", severity=0.6)
    rule(acme, name="Any worsening")
    rule(acme, name="Denials", drift_types=["denial_rate"])
    rule(acme, name="Cigna", payer_ids=[payer(acme, "Cigna").pk])
    rule(acme, name="E/M", cpt_groups=["E/M"])
    rule(acme, name="Severe", min_severity=0.85)
    rule(acme, name="Improving", direction="improving")
    rule(acme, name="Either", direction="any")
    rule(acme, name="Off", enabled=False)
    alerts = evaluate(acme, humana_em, cigna_all, improving, now=T0)
    assert raised(alerts) == {
        ("Any worsening", humana_em.pk), ("Any worsening", cigna_all.pk),
        ("Denials", humana_em.pk),
        ("Cigna", cigna_all.pk),
        ("E/M", humana_em.pk),
        ("Severe", cigna_all.pk),
        ("Improving", improving.pk),
        ("Either", humana_em.pk), ("Either", cigna_all.pk), ("Either", improving.pk),
    }  # fmt: skip
    first = next(a for a in alerts if a.event_id == cigna_all.pk and a.rule_name == "Severe")
    assert (first.payer.name, first.drift_type, first.severity, first.label) == (
        "Cigna", "decision_time", 0.9, "critical",
    )  # fmt: skip
    triggered = AuditEvent.objects.filter(action=Action.ALERT_TRIGGERED, customer=acme)
    assert triggered.count() == len(alerts)


def test_a_second_evaluation_of_the_same_events_raises_nothing(acme):
    e = event(acme)
    rule(acme)
    assert len(evaluate(acme, e, now=T0)) == 1
    assert evaluate(acme, e, now=T0 + timedelta(days=3)) == []
    assert Alert.objects.filter(customer=acme).count() == 1


def test_no_enabled_rule_no_alert(acme):
    rule(acme, enabled=False)
    assert evaluate(acme, event(acme), now=T0) == []


def test_another_customers_events_are_ignored(acme, globex):
    rule(acme)
    theirs = event(globex)
    assert evaluate(acme, theirs, now=T0) == []


# -- cooldown -------------------------------------------------------------------------------------


def test_cooldown_per_rule_payer_and_drift_type_with_a_clock(
    acme, django_capture_on_commit_callbacks
):
    rule(acme, cooldown_hours=24)
    with django_capture_on_commit_callbacks(execute=True):
        (first,) = evaluate(acme, event(acme), now=T0)
        (held,) = evaluate(acme, event(acme), now=T0 + timedelta(hours=2))
        (other_type,) = evaluate(
            acme, event(acme, drift_type="decision_time"), now=T0 + timedelta(hours=2)
        )
        (other_payer,) = evaluate(acme, event(acme, "Cigna"), now=T0 + timedelta(hours=2))
        (after,) = evaluate(acme, event(acme), now=T0 + timedelta(hours=24))
    assert not first.suppressed and not other_type.suppressed and not other_payer.suppressed
    assert held.suppressed and held.suppressed_reason == (
        "Cooldown: rule “Denials” already alerted on Humana · denial_rate at 2026-06-30 09:00 "
        "UTC; quiet until 2026-07-01 09:00 UTC."
    )
    assert not after.suppressed
    held.refresh_from_db()
    assert held.notify_status == NotifyStatus.SKIPPED
    assert len(mail.outbox) == 4  # everything but the held-back one
    assert AuditEvent.objects.filter(action=Action.ALERT_SUPPRESSED).count() == 1


# -- learned noise suppression --------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """``clock(at)``: ``timezone.now()`` (and so ``auto_now`` timestamps) answers ``at``."""

    def set_to(at: datetime):
        monkeypatch.setattr(timezone, "now", lambda: at)

    return set_to


def noise(alert, user):
    services.feedback_save(alert=alert, actor=user, fields=services.FeedbackFields("noise"))


def test_two_noise_verdicts_suppress_the_third_alert(
    acme, analyst, clock, django_capture_on_commit_callbacks
):
    rule(acme, cooldown_hours=0)
    clock(T0)
    with django_capture_on_commit_callbacks(execute=True):
        first, second = (
            evaluate(acme, event(acme, cpt_group=g), now=T0)[0] for g in ("E/M", "Surgery")
        )
    noise(first, analyst)
    clock(T0 + timedelta(days=10))
    noise(second, analyst)
    clock(T0 + timedelta(days=20))
    with django_capture_on_commit_callbacks(execute=True):
        (third,) = evaluate(acme, event(acme, cpt_group="Radiology"), now=T0 + timedelta(days=20))
        (other_type,) = evaluate(
            acme, event(acme, drift_type="decision_time"), now=T0 + timedelta(days=20)
        )
    assert third.suppressed and third.suppressed_reason == (
        "Learned suppression: 2 or more alerts on Humana · denial_rate were marked noise in the "
        "last 30 days."
    )
    assert not other_type.suppressed
    third.refresh_from_db()
    assert third.notify_status == NotifyStatus.SKIPPED and not third.is_active
    assert len(mail.outbox) == 3  # the first two and the other drift type; not the third
    assert (
        AuditEvent.objects.get(action=Action.ALERT_SUPPRESSED)
        .data["reason"]
        .startswith("Learned suppression")
    )


def test_noise_verdicts_older_than_30_days_do_not_suppress(acme, analyst, clock):
    rule(acme, cooldown_hours=0)
    clock(T0)
    first, second = (evaluate(acme, event(acme), now=T0)[0] for _ in range(2))
    noise(first, analyst)
    noise(second, analyst)
    later = T0 + timedelta(days=30, minutes=1)
    clock(later)
    (fresh,) = evaluate(acme, event(acme), now=later)
    assert not fresh.suppressed and fresh.suppressed_reason == ""


def test_two_noise_verdicts_on_one_alert_are_not_enough(acme, alice, analyst, clock):
    rule(acme, cooldown_hours=0)
    clock(T0)
    (only,) = evaluate(acme, event(acme), now=T0)
    noise(only, analyst)
    noise(only, alice)
    (next_one,) = evaluate(acme, event(acme), now=T0 + timedelta(days=1))
    assert not next_one.suppressed


# -- the drift run → alert → e-mail path ----------------------------------------------------------

AS_OF = date(2026, 6, 30)
PLANTED = [generator.Drift("Humana", AS_OF - timedelta(days=20), denial_rate=0.45)]


def load_drifting(customer, tmp_path: Path) -> None:
    spec = generator.ClaimsSpec(rows=16_000, end=AS_OF, days=180, seed=5, drifts=PLANTED)
    path = generator.write_csv(spec, tmp_path / f"{customer.slug}.csv")
    assert claims.ingest_file(customer=customer, raw_path=str(path)).status == "succeeded"


def test_a_drift_run_raises_alerts_and_emails_them_after_commit(
    acme, alice, tmp_path, django_capture_on_commit_callbacks
):
    load_drifting(acme, tmp_path)
    rule(acme, alice, name="Humana denials", drift_types=["denial_rate"],
         payer_ids=[payer(acme, "Humana").pk], cooldown_hours=0)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = drift.detect_now(customer=acme, as_of=AS_OF)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert mail.outbox == []  # nothing leaves before the commit
    alerts = Alert.objects.filter(customer=acme).select_related("event")
    events = DriftEvent.objects.filter(
        customer=acme, payer__name="Humana", drift_type="denial_rate"
    )
    assert {a.event_id for a in alerts} == set(events.values_list("pk", flat=True)) != set()
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == alerts.count()
    assert all("denial rate drift at Humana (Acme Health)" in m.subject for m in mail.outbox)
    assert {a.notify_status for a in Alert.objects.filter(customer=acme)} == {NotifyStatus.SENT}


def test_a_rerun_of_the_same_window_raises_no_new_alert(
    acme, tmp_path, django_capture_on_commit_callbacks
):
    load_drifting(acme, tmp_path)
    rule(acme, drift_types=["denial_rate"], cooldown_hours=0)
    with django_capture_on_commit_callbacks(execute=True):
        drift.detect_now(customer=acme, as_of=AS_OF)
    count, sent = Alert.objects.count(), len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert drift.detect_now(customer=acme, as_of=AS_OF).events_updated > 0
    assert (Alert.objects.count(), len(mail.outbox)) == (count, sent) and count > 0
