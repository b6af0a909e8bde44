"""Shared data of the reports tests: Acme's claims, drift events of one week, alerts."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from portal.alerts.models import Alert, AlertStatus
from portal.claims import generator
from portal.claims import services as claims
from portal.claims.models import Payer
from portal.drift.models import DriftEvent

PERIOD_END = date(2026, 11, 26)  # a Thursday
PERIOD_START = PERIOD_END - timedelta(days=6)

# (payer, cpt group, drift type, direction, severity, label, impact)
EVENTS = [
    ("Humana", "ALL", "denial_rate", "worsening", 0.93, "critical", "18250.40"),
    ("Cigna", "E/M", "decision_time", "worsening", 0.61, "high", "4100.00"),
    ("Aetna", "ALL", "new_denial_reason", "worsening", 0.45, "medium", "900.00"),
    ("Medicaid", "ALL", "payment_amount", "improving", 0.30, "low", "-250.00"),
]


def payer(customer, name):
    return Payer.objects.get_or_create(
        customer=customer, key=name.lower(), defaults={"name": name}
    )[0]


def make_event(customer, name, group, kind, direction, severity, label, impact, *, end, written):
    event = DriftEvent.objects.create(
        customer=customer,
        payer=payer(customer, name),
        cpt_group=group,
        drift_type=kind,
        baseline_start=end - timedelta(days=103),
        baseline_end=end - timedelta(days=14),
        current_start=end - timedelta(days=13),
        current_end=end,
        baseline_value=0.1,
        current_value=0.3,
        delta=0.2,
        relative_delta=2.0,
        baseline_n=900,
        current_n=120,
        p_value=1e-6,
        q_value=1e-5,
        test="two-proportion z",
        direction=direction,
        severity=severity,
        label=label,
        revenue_impact=Decimal(impact),
        reason_code="CO-252" if kind == "new_denial_reason" else "",
    )
    stamp = timezone.make_aware(datetime.combine(written, time(4, 0)))
    DriftEvent.objects.filter(pk=event.pk).update(updated_at=stamp, created_at=stamp)
    return event


@pytest.fixture
def week_events(acme):
    """Four events written in the week up to PERIOD_END, and one old one (outside the week)."""
    events = [
        make_event(acme, *spec, end=PERIOD_END - timedelta(days=2), written=PERIOD_END)
        for spec in EVENTS
    ]
    old = make_event(
        acme, "Tricare", "ALL", "denial_dollars", "worsening", 0.5, "medium", "10.00",
        end=PERIOD_END - timedelta(days=30), written=PERIOD_END - timedelta(days=25),
    )  # fmt: skip
    return events, old


@pytest.fixture
def acme_claims(acme, tmp_path):
    """600 realistic claims of Acme, imported through the real ingestion."""
    spec = generator.ClaimsSpec(rows=600, end=PERIOD_END, days=60, seed=3)
    path = generator.write_csv(spec, tmp_path / "acme.csv")
    assert claims.ingest_file(customer=acme, raw_path=str(path)).status == "succeeded"
    return acme


@pytest.fixture
def acme_alerts(acme, week_events):
    events, _ = week_events
    statuses = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED, AlertStatus.OPEN]
    alerts = []
    for event, status in zip(events, statuses, strict=True):
        alert = Alert.objects.create(
            customer=acme, rule=None, rule_name="Big drifts", event=event, payer=event.payer,
            drift_type=event.drift_type, severity=event.severity, label=event.label,
            status=status,
        )  # fmt: skip
        alerts.append(alert)
    return alerts


@pytest.fixture
def fresh_throttles(db):
    cache.clear()
    yield
    cache.clear()
