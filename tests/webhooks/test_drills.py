"""Fault drill: the webhook receiver is down for an hour of simulated time (PRODUCT §6).

Messages wait and are delivered: during the hour every attempt fails (connection refused) and is
recorded, nothing is dead-lettered or lost, and the endpoint stays enabled (disabling needs 24 h
of failures). When the receiver is back, the every-minute sweep delivers each message exactly
once, with its original ``webhook-id`` and a valid signature, after the recorded failures.

Real PostgreSQL, real HTTP on 127.0.0.1, the real sweep task; only the clock is simulated
(``django.utils.timezone.now``). Signatures carry the real time, as the receiver checks it.
"""

import itertools
import json
import math
import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.webhooks import delivery, services, tasks
from portal.webhooks.models import AttemptOutcome, MessageStatus, WebhookEndpoint, WebhookMessage
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db

DOWN_MINUTES = 60
# After the hour, the next retry of every message is due within 5.4 h × 1.2 (the 5th retry's
# wait with the most jitter) of its 5th attempt at the latest.
MAX_WAIT = timedelta(hours=8)


class Clock:
    def __init__(self):
        self.now = timezone.now().replace(microsecond=0)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    simulated = Clock()
    monkeypatch.setattr(timezone, "now", lambda: simulated.now)
    return simulated


@pytest.fixture
def dead_port():
    """A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it) but not
    listening. ``dead_port.revive()`` frees it for the receiver."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    class DeadPort(int):
        def revive(self):
            sock.close()

    yield DeadPort(port)
    sock.close()


def emit_the_run_and_its_alert(customer):
    """What a drift run with one alerting event hands to webhooks: four messages."""
    messages = []
    for event_id in (101, 102):
        messages += services.message_emit(
            customer=customer,
            event_type="drift_event.created",
            event_key=f"drift_event.created:{event_id}",
            data={"drift_event_id": event_id, "drift_run_id": 7, "severity": 0.91},
        )
    messages += services.message_emit(
        customer=customer,
        event_type="drift_run.completed",
        event_key="drift_run.completed:7",
        data={"drift_run_id": 7, "events_created": 2, "events_updated": 0},
    )
    messages += services.message_emit(
        customer=customer,
        event_type="alert.triggered",
        event_key="alert:55:alert.triggered",
        data={"alert_id": 55, "rule_id": 3, "drift_event_id": 101, "severity": 0.91},
    )
    return messages


def test_receiver_down_for_an_hour_messages_wait_then_deliver_exactly_once(
    acme, local_networks, make_endpoint, clock, dead_port, django_capture_on_commit_callbacks
):
    endpoint, secret = make_endpoint(f"http://127.0.0.1:{dead_port}/hooks", name="Down for an hour")
    started = clock.now
    with django_capture_on_commit_callbacks(execute=True):  # first attempts go out on commit
        emitted = emit_the_run_and_its_alert(acme)
    assert sorted(m.event_type for m in emitted) == sorted(
        ["drift_event.created", "drift_event.created", "drift_run.completed", "alert.triggered"]
    )
    ids = {m.pk: m.webhook_id for m in emitted}
    payloads = {m.pk: m.payload for m in emitted}

    # -- the hour down: sweep every minute; every attempt fails and is kept, nothing dies ------
    for _ in range(DOWN_MINUTES):
        clock.advance(minutes=1)
        tasks.deliver_due()
        messages = WebhookMessage.objects.filter(customer=acme)
        assert messages.count() == len(emitted)  # nothing lost
        assert not messages.exclude(status=MessageStatus.PENDING).exists()  # nothing dead

    messages = list(WebhookMessage.objects.filter(customer=acme).order_by("pk"))
    for message in messages:
        # immediately, then ~15 s, ~1.5 min, ~9 min (and ~54 min when the jitter is short)
        assert 4 <= message.failures <= 5, message.failures
        assert message.attempts == message.failures
        assert message.next_attempt_at > clock.now and message.dead_at is None
        attempts = list(message.attempt_set.order_by("number"))
        assert [a.number for a in attempts] == list(range(1, message.failures + 1))
        assert {a.outcome for a in attempts} == {AttemptOutcome.NETWORK_ERROR}
        assert all("refused" in a.error.lower() for a in attempts), attempts[0].error
        assert all(a.status_code is None for a in attempts)
        waits = [b.started_at - a.started_at for a, b in itertools.pairwise(attempts)]
        assert waits == sorted(waits)  # backing off, never hammering
    failures_in_the_hour = {m.pk: m.failures for m in messages}
    assert AuditEvent.objects.filter(
        action=Action.WEBHOOK_SENT, customer=acme, outcome="failure"
    ).count() == sum(failures_in_the_hour.values())

    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.enabled and endpoint.failing_since == started  # 1 h is not 24 h
    assert not AuditEvent.objects.filter(action=Action.WEBHOOK_ENDPOINT_DISABLED).exists()
    assert mail.outbox == []  # nobody was told the endpoint is disabled: it is not

    # -- the receiver is back on the same port: the sweep delivers everything, once ------------
    dead_port.revive()
    receiver = Receiver(port=dead_port, secrets=[secret]).start()
    try:
        while pending := WebhookMessage.objects.filter(customer=acme, status=MessageStatus.PENDING):
            # The sweep runs every minute; the minutes in which nothing is due are skipped (a
            # sweep then claims nothing: each one builds an HTTP client, ~30 ms of CPU).
            due = min(m.next_attempt_at for m in pending)
            clock.now = started + timedelta(
                minutes=math.ceil((due - started) / timedelta(minutes=1))
            )
            assert clock.now - started < MAX_WAIT, "a message was not delivered in time"
            assert tasks.deliver_due() >= 1
        for _ in range(10):  # and sweeping on sends nothing more
            clock.advance(minutes=1)
            assert tasks.deliver_due() == 0
    finally:
        receiver.stop()

    messages = list(WebhookMessage.objects.filter(customer=acme).order_by("pk"))
    assert {m.status for m in messages} == {MessageStatus.SUCCEEDED}

    # exactly once each, with its original webhook-id, its stored body, a valid signature
    received = sorted(receiver.requests, key=lambda r: r.headers["webhook-id"])
    assert sorted(r.headers["webhook-id"] for r in received) == sorted(ids.values())
    by_id = {r.headers["webhook-id"]: r for r in received}
    for message in messages:
        request = by_id[ids[message.pk]]
        assert request.body == payloads[message.pk].encode()
        assert request.verified_with == [secret]
        assert json.loads(request.body)["type"] == message.event_type

        # the history: the failures of the hour, then the success
        attempts = list(message.attempt_set.order_by("number"))
        failures = failures_in_the_hour[message.pk]
        assert [a.outcome for a in attempts] == [AttemptOutcome.NETWORK_ERROR] * failures + [
            AttemptOutcome.SUCCEEDED
        ]
        assert [a.status_code for a in attempts] == [None] * failures + [204]
        assert message.attempts == failures + 1 and message.failures == failures
        assert message.delivered_at == attempts[-1].started_at > started + timedelta(hours=1)

    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.enabled and endpoint.failing_since is None  # the success reset the clock
    assert delivery.deliver_due(now=clock.now + timedelta(days=2)) == 0
