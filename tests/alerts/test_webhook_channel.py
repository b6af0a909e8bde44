"""Alerts reach the rule's webhook endpoints through the outbox, in the same transaction."""

import json

import pytest

from portal.alerts import services
from portal.webhooks import services as webhook_services
from portal.webhooks.models import WebhookMessage
from tests.alerts.conftest import event, rule

pytestmark = pytest.mark.django_db


def endpoint(customer, name, **fields):
    created, _ = webhook_services.endpoint_create(
        customer=customer, actor=None, name=name, url=f"https://hooks.example.com/{name}", **fields
    )
    return created


def test_a_triggered_alert_goes_to_the_rules_endpoints_only(acme):
    pager = endpoint(acme, "pager")
    other = endpoint(acme, "other")  # subscribed to everything, but not on the rule
    routed = rule(acme, name="Page me", webhook_endpoint_ids=[pager.pk])
    drift = event(acme)
    (alert,) = services.alerts_evaluate(customer=acme, event_ids=[drift.pk])

    [message] = WebhookMessage.objects.filter(event_type="alert.triggered")
    assert message.endpoint == pager
    assert not WebhookMessage.objects.filter(endpoint=other, event_type="alert.triggered").exists()
    body = json.loads(message.payload)
    assert body["type"] == "alert.triggered"
    assert body["data"]["alert_id"] == alert.pk and body["data"]["rule_id"] == routed.pk
    assert body["data"]["drift_event_id"] == drift.pk
    assert "Humana" not in message.payload  # thin: ids and numbers, the receiver asks the API

    services.alerts_evaluate(customer=acme, event_ids=[drift.pk])  # a re-run: nothing new
    assert WebhookMessage.objects.filter(event_type="alert.triggered").count() == 1


def test_resolving_an_alert_sends_alert_resolved_once(acme, alice):
    pager = endpoint(acme, "pager")
    rule(acme, name="Page me", webhook_endpoint_ids=[pager.pk])
    (alert,) = services.alerts_evaluate(customer=acme, event_ids=[event(acme).pk])
    services.alert_change_status(alert=alert, actor=alice, action="resolve")
    services.alert_change_status(alert=alert, actor=alice, action="resolve")  # already resolved
    [message] = WebhookMessage.objects.filter(endpoint=pager, event_type="alert.resolved")
    assert json.loads(message.payload)["data"]["status"] == "resolved"


def test_a_suppressed_alert_sends_no_webhook(acme):
    pager = endpoint(acme, "pager")
    rule(acme, name="Page me", webhook_endpoint_ids=[pager.pk], cooldown_hours=24)
    first, second = event(acme), event(acme)  # same payer and type: the second is in cooldown
    alerts = services.alerts_evaluate(customer=acme, event_ids=[first.pk, second.pk])
    assert sorted(a.suppressed for a in alerts) == [False, True]
    assert WebhookMessage.objects.filter(event_type="alert.triggered").count() == 1
