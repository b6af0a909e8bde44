"""Alerts test helpers: drift events written directly (fast), rules through the service."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest

from portal.alerts import services
from portal.alerts.models import Alert
from portal.claims.models import Payer
from portal.drift.detectors import label_of
from portal.drift.models import DriftEvent

AS_OF = date(2026, 6, 30)
_windows = count()


def payer(customer, name: str = "Humana") -> Payer:
    obj, _ = Payer.objects.get_or_create(
        customer=customer, key=name.lower(), defaults={"name": name}
    )
    return obj


def event(customer, payer_name: str = "Humana", **fields) -> DriftEvent:
    """A drift event as a run would write it; each call gets a window of its own unless told."""
    shift = timedelta(days=next(_windows))
    current_end = fields.pop("current_end", AS_OF - shift)
    severity = fields.pop("severity", 0.7)
    values = {
        "cpt_group": "ALL",
        "drift_type": "denial_rate",
        "baseline_start": current_end - timedelta(days=103),
        "baseline_end": current_end - timedelta(days=14),
        "current_start": current_end - timedelta(days=13),
        "current_end": current_end,
        "baseline_value": 0.08,
        "current_value": 0.35,
        "delta": 0.27,
        "relative_delta": 3.4,
        "baseline_n": 1800,
        "current_n": 260,
        "p_value": 1e-9,
        "q_value": 1e-8,
        "test": "two-proportion z",
        "direction": "worsening",
        "severity": severity,
        "label": label_of(severity),
        "revenue_impact": Decimal("18250.40"),
        **fields,
    }
    return DriftEvent.objects.create(customer=customer, payer=payer(customer, payer_name), **values)


def rule(customer, actor=None, **fields):
    return services.alert_rule_create(
        customer=customer,
        actor=actor,
        fields=services.RuleFields(
            **{"name": "Denials", "email_recipients": ["rcm@acme.test"]} | fields
        ),
    )


def evaluate(customer, *events, now=None) -> list[Alert]:
    return services.alerts_evaluate(customer=customer, event_ids=[e.pk for e in events], now=now)


def default_rule(customer):
    """Acme's "Denials" rule: every worsening drift, e-mailed, no cooldown."""
    from portal.alerts.models import AlertRule

    existing = AlertRule.objects.filter(customer=customer, name="Denials").first()
    return existing or rule(customer, cooldown_hours=0)


@pytest.fixture
def raise_alert(acme, django_capture_on_commit_callbacks):
    """``raise_alert(**event_fields)``: an alert of Acme's default rule on a new event, its
    notification task run (after the commit, as in production)."""

    def make(**fields) -> Alert:
        the_rule = default_rule(acme)
        with django_capture_on_commit_callbacks(execute=True):
            alerts = evaluate(acme, event(acme, **fields))
        (alert,) = [a for a in alerts if a.rule_id == the_rule.pk]
        return Alert.objects.select_related("event", "payer", "rule").get(pk=alert.pk)

    return make
