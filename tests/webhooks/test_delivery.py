"""Delivery to a real local receiver (PRODUCT §6): signatures, outcomes of every kind of answer,
the retry schedule, dead letters, rotation, replay, the 24 h rule, audit."""

import json
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks import Webhook

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.webhooks import delivery, services
from portal.webhooks.models import (
    AttemptOutcome,
    MessageStatus,
    WebhookAttempt,
    WebhookMessage,
)
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db


def emit(customer, key="drift_event.created:1", event_type="drift_event.created", **kwargs):
    return services.message_emit(
        customer=customer,
        event_type=event_type,
        data={"drift_event_id": 1, "severity": 0.9},
        event_key=key,
        **kwargs,
    )


def deliver(now=None):
    return delivery.deliver_due(now=now or timezone.now())


def fresh(message) -> WebhookMessage:
    return WebhookMessage.objects.get(pk=message.pk)


# -- the outbox -----------------------------------------------------------------------------------


def test_emit_writes_one_message_per_subscribed_enabled_endpoint(acme, globex, make_endpoint):
    everything, _ = make_endpoint("https://hooks.example.com/a", name="All")
    drift_only, _ = make_endpoint(
        "https://hooks.example.com/b", name="Drift", event_types=["drift_event.created"]
    )
    make_endpoint("https://hooks.example.com/c", name="Uploads", event_types=["upload.completed"])
    make_endpoint("https://hooks.example.com/d", name="Off", enabled=False)
    messages = emit(acme)
    assert sorted(m.endpoint_id for m in messages) == sorted([everything.pk, drift_only.pk])
    assert {m.status for m in messages} == {MessageStatus.PENDING}
    assert all(m.webhook_id.startswith("msg_") for m in messages)
    assert emit(globex) == []  # another customer's endpoints are not acme's


def test_emit_twice_with_the_same_event_key_writes_nothing_more(acme, make_endpoint):
    make_endpoint("https://hooks.example.com/a")
    assert len(emit(acme, key="k-1")) == 1
    assert emit(acme, key="k-1") == []
    assert WebhookMessage.objects.filter(customer=acme).count() == 1


def test_emit_restricted_to_endpoint_ids(acme, make_endpoint):
    first, _ = make_endpoint("https://hooks.example.com/a", name="A")
    make_endpoint("https://hooks.example.com/b", name="B")
    (message,) = emit(acme, event_type="alert.triggered", endpoint_ids=[first.pk])
    assert message.endpoint_id == first.pk


def test_payload_is_thin_json_with_type_timestamp_and_data(acme, make_endpoint):
    make_endpoint("https://hooks.example.com/a")
    (message,) = emit(acme)
    body = json.loads(message.payload)
    assert set(body) == {"type", "timestamp", "data"}
    assert body["type"] == "drift_event.created"
    assert body["data"] == {"customer": "acme", "drift_event_id": 1, "severity": 0.9}


def test_emit_refuses_an_unknown_event_type(acme):
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        emit(acme, event_type="claim.viewed")


def test_emit_hands_delivery_to_the_queue_on_commit(
    acme, receiver, make_endpoint, django_capture_on_commit_callbacks
):
    make_endpoint(receiver.url, receiver=receiver)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (message,) = emit(acme)
        assert receiver.requests == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    assert fresh(message).status == MessageStatus.SUCCEEDED
    assert len(receiver.verified) == 1


# -- what goes on the wire ------------------------------------------------------------------------


def test_delivery_sends_the_stored_bytes_signed_per_standard_webhooks(
    acme, receiver, make_endpoint
):
    _, secret = make_endpoint(receiver.url, receiver=receiver)
    (message,) = emit(acme)
    assert deliver() == 1
    (request,) = receiver.requests
    assert request.body == message.payload.encode()
    assert request.headers["webhook-id"] == message.webhook_id
    assert request.headers["content-type"] == "application/json"
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "drift_event.created"
    message = fresh(message)
    assert message.status == MessageStatus.SUCCEEDED and message.attempts == 1
    attempt = WebhookAttempt.objects.get(message=message)
    assert (attempt.status_code, attempt.outcome) == (204, AttemptOutcome.SUCCEEDED)
    assert attempt.latency_ms >= 0 and attempt.customer_id == acme.pk


def test_every_send_is_audited_with_its_outcome(acme, receiver, make_endpoint):
    make_endpoint(receiver.url, receiver=receiver)
    (message,) = emit(acme)
    deliver()
    receiver.mode = "500"
    (second,) = emit(acme, key="other")
    deliver()
    sent = AuditEvent.objects.filter(action=Action.WEBHOOK_SENT, customer=acme).order_by("id")
    assert [(e.object_id, e.outcome) for e in sent] == [
        (str(message.pk), "success"),
        (str(second.pk), "failure"),
    ]
    assert sent[1].data["status_code"] == 500 and sent[1].data["outcome"] == "http_error"


# -- outcomes -------------------------------------------------------------------------------------


def test_a_500_is_a_failure_retried_later_with_the_body_excerpt_kept(acme, receiver, make_endpoint):
    make_endpoint(receiver.url, receiver=receiver)
    receiver.mode = "500"
    (message,) = emit(acme)
    now = timezone.now()
    deliver(now)
    message = fresh(message)
    assert message.status == MessageStatus.PENDING and message.failures == 1
    wait = (message.next_attempt_at - now).total_seconds()
    assert 15 * 0.8 <= wait <= 15 * 1.2
    attempt = message.attempt_set.get()
    assert attempt.outcome == AttemptOutcome.HTTP_ERROR and attempt.status_code == 500
    assert len(attempt.response_body) == 2048 and attempt.response_body.startswith("answer 500")
    assert deliver(now + timedelta(seconds=5)) == 0  # not due yet


@pytest.mark.parametrize("header", ["seconds", "http-date"])
def test_a_503_with_retry_after_waits_as_asked(acme, receiver, make_endpoint, header):
    make_endpoint(receiver.url, receiver=receiver)
    receiver.mode = "503"
    (message,) = emit(acme)
    now = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    later = now + timedelta(minutes=40)
    receiver.retry_after = "2400" if header == "seconds" else format_datetime(later, usegmt=True)
    deliver(now)
    message = fresh(message)
    wait = (message.next_attempt_at - now).total_seconds()
    assert 2400 - 2 <= wait <= 2400 + 1
    assert message.attempt_set.get().status_code == 503


def test_retry_after_is_capped(acme, receiver, make_endpoint):
    make_endpoint(receiver.url, receiver=receiver)
    receiver.mode, receiver.retry_after = "429", str(30 * 86400)
    (message,) = emit(acme)
    now = timezone.now()
    deliver(now)
    assert fresh(message).next_attempt_at - now == delivery.RETRY_AFTER_CAP


def test_a_410_disables_the_endpoint_and_kills_the_message(acme, receiver, make_endpoint):
    endpoint, _ = make_endpoint(receiver.url, receiver=receiver)
    receiver.mode = "410"
    (message,) = emit(acme)
    deliver()
    message, endpoint = fresh(message), type(endpoint).objects.get(pk=endpoint.pk)
    assert message.status == MessageStatus.DEAD and message.next_attempt_at is None
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert message.attempt_set.get().outcome == AttemptOutcome.GONE
    assert emit(acme, key="next") == []  # a disabled endpoint gets no new messages
    assert AuditEvent.objects.filter(action=Action.WEBHOOK_ENDPOINT_DISABLED).count() == 1


def test_a_redirect_is_a_failure_and_is_not_followed(acme, receiver, make_endpoint):
    elsewhere = Receiver().start()
    try:
        make_endpoint(receiver.url, receiver=receiver)
        receiver.mode, receiver.redirect_to = "302", elsewhere.url
        (message,) = emit(acme)
        deliver()
        attempt = fresh(message).attempt_set.get()
        assert attempt.outcome == AttemptOutcome.REDIRECT and attempt.status_code == 302
        assert elsewhere.url in attempt.error
        assert elsewhere.requests == []
        assert fresh(message).status == MessageStatus.PENDING
    finally:
        elsewhere.stop()


def test_a_receiver_hanging_past_the_timeout_is_a_timeout(acme, receiver, make_endpoint):
    make_endpoint(receiver.url, receiver=receiver)
    receiver.mode, receiver.hang_seconds = "hang", 3
    (message,) = emit(acme)
    deliver()
    attempt = fresh(message).attempt_set.get()
    assert attempt.outcome == AttemptOutcome.TIMEOUT and attempt.status_code is None
    assert 900 <= attempt.latency_ms < 2900  # the 1 s test timeout, not the 3 s hang
    assert fresh(message).failures == 1


def test_a_dropped_connection_is_a_network_error(acme, receiver, make_endpoint):
    make_endpoint(receiver.url, receiver=receiver)
    receiver.mode = "drop"
    (message,) = emit(acme)
    deliver()
    attempt = fresh(message).attempt_set.get()
    assert attempt.outcome == AttemptOutcome.NETWORK_ERROR and attempt.error


def test_nobody_listening_is_a_network_error(acme, local_networks, make_endpoint):
    stopped = Receiver().start()
    url = stopped.url
    stopped.stop()
    make_endpoint(url)
    (message,) = emit(acme)
    deliver()
    assert fresh(message).attempt_set.get().outcome == AttemptOutcome.NETWORK_ERROR


# -- the schedule ---------------------------------------------------------------------------------


def test_retry_delays_grow_exponentially_with_jitter():
    for failures, base in enumerate([15, 90, 540, 3240, 19440], start=1):
        for _ in range(20):
            seconds = delivery.retry_delay(failures).total_seconds()
            assert base * 0.8 <= seconds <= base * 1.2, (failures, seconds)


def test_five_retries_then_the_message_is_dead(acme, receiver, make_endpoint):
    make_endpoint(receiver.url, receiver=receiver)
    receiver.mode = "500"
    (message,) = emit(acme)
    clock = timezone.now()
    waits = []
    for _ in range(6):
        assert deliver(clock) == 1
        message = fresh(message)
        if message.next_attempt_at:
            waits.append((message.next_attempt_at - clock).total_seconds())
            clock = message.next_attempt_at
    assert message.status == MessageStatus.DEAD and message.dead_at is not None
    assert message.attempts == 6 and len(receiver.requests) == 6
    assert [round(w / base) for w, base in zip(waits, [15, 90, 540, 3240, 19440], strict=True)] == [
        1
    ] * 5
    assert deliver(clock + timedelta(days=2)) == 0  # dead stays dead
    assert {r.headers["webhook-id"] for r in receiver.requests} == {message.webhook_id}


# -- rotation -------------------------------------------------------------------------------------


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new(
    acme, alice, receiver, make_endpoint
):
    endpoint, old = make_endpoint(receiver.url, receiver=receiver)
    new = services.secret_rotate(endpoint=endpoint, actor=alice)
    receiver.secrets.append(new)
    assert new != old and new.startswith("whsec_")
    emit(acme, key="during")
    deliver()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert sorted(request.verified_with) == sorted([old, new])

    tomorrow = timezone.now() + timedelta(hours=24, minutes=1)
    emit(acme, key="after")
    WebhookMessage.objects.filter(event_key="after").update(next_attempt_at=tomorrow)
    deliver(tomorrow)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert request.verified_with == [new]
    assert AuditEvent.objects.filter(action=Action.WEBHOOK_SECRET_ROTATED).count() == 1


# -- replay ---------------------------------------------------------------------------------------


def test_replay_of_a_dead_message_keeps_its_webhook_id(acme, alice, receiver, make_endpoint):
    make_endpoint(receiver.url, receiver=receiver)
    receiver.mode = "500"
    (message,) = emit(acme)
    WebhookMessage.objects.filter(pk=message.pk).update(failures=5)
    deliver()
    assert fresh(message).status == MessageStatus.DEAD
    receiver.mode = "ok"
    replayed = services.message_replay(message=fresh(message), actor=alice)
    assert replayed.status == MessageStatus.PENDING and replayed.failures == 0
    deliver()
    message = fresh(message)
    assert message.status == MessageStatus.SUCCEEDED and message.attempts == 2
    assert [r.headers["webhook-id"] for r in receiver.requests] == [message.webhook_id] * 2
    assert receiver.requests[0].body == receiver.requests[1].body
    assert AuditEvent.objects.filter(action=Action.WEBHOOK_REPLAYED, object_id=str(message.pk))


def test_replay_all_dead_messages_of_an_endpoint(acme, alice, receiver, make_endpoint):
    endpoint, _ = make_endpoint(receiver.url, receiver=receiver)
    for key in ("a", "b", "c"):
        emit(acme, key=key)
    WebhookMessage.objects.filter(event_key__in=["a", "b"]).update(
        status=MessageStatus.DEAD, next_attempt_at=None
    )
    WebhookMessage.objects.filter(event_key="c").update(
        status=MessageStatus.SUCCEEDED, next_attempt_at=None
    )
    assert services.messages_replay_dead(endpoint=endpoint, actor=alice) == 2
    assert deliver() == 2
    assert set(
        WebhookMessage.objects.filter(endpoint=endpoint).values_list("status", flat=True)
    ) == {MessageStatus.SUCCEEDED}


# -- the 24 h rule --------------------------------------------------------------------------------


def test_an_endpoint_failing_for_24_hours_is_disabled_and_admins_are_emailed(
    acme, alice, bob, receiver, make_endpoint, django_capture_on_commit_callbacks
):
    from portal.accounts.roles import Role
    from tests.factories import member

    admin = member(acme, Role.ADMIN, email="adam@acme.test")
    endpoint, _ = make_endpoint(receiver.url, receiver=receiver)
    receiver.mode = "500"
    emit(acme, key="first")
    start = timezone.now()
    deliver(start)
    assert type(endpoint).objects.get(pk=endpoint.pk).failing_since == start

    later = start + timedelta(hours=24, seconds=1)
    emit(acme, key="second")
    WebhookMessage.objects.filter(event_key="second").update(next_attempt_at=later)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(later)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "24 hours" in endpoint.disabled_reason
    (email,) = mail.outbox
    assert sorted(email.to) == sorted([alice.email, admin.email])  # not bob, a viewer
    assert endpoint.name in email.subject


def test_a_success_resets_the_failure_clock(acme, receiver, make_endpoint):
    endpoint, _ = make_endpoint(receiver.url, receiver=receiver)
    receiver.mode = "500"
    emit(acme, key="first")
    deliver()
    receiver.mode = "ok"
    emit(acme, key="second")
    deliver()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.enabled


# -- leases ---------------------------------------------------------------------------------------


def test_a_worker_killed_mid_delivery_loses_nothing(acme, receiver, make_endpoint):
    make_endpoint(receiver.url, receiver=receiver)
    (message,) = emit(acme)
    now = timezone.now()
    claimed = delivery.claim(now=now)  # ... and the worker dies before sending or recording
    assert [c.message_id for c in claimed] == [message.pk]
    assert deliver(now + timedelta(seconds=30)) == 0  # leased: nobody else sends it meanwhile
    assert not WebhookAttempt.objects.exists()
    after_lease = now + delivery.lease() + timedelta(seconds=1)
    assert deliver(after_lease) == 1
    message = fresh(message)
    assert message.status == MessageStatus.SUCCEEDED and message.attempts == 1
    assert len(receiver.verified) == 1


def test_a_result_recorded_after_the_lease_was_lost_does_not_overwrite_the_new_owner(
    acme, receiver, make_endpoint
):
    make_endpoint(receiver.url, receiver=receiver)
    (message,) = emit(acme)
    now = timezone.now()
    (stale,) = delivery.claim(now=now)
    later = now + delivery.lease() + timedelta(seconds=1)
    (current,) = delivery.claim(now=later)
    delivery.record_result(delivery.Result(stale, AttemptOutcome.HTTP_ERROR, 500), now=later)
    assert fresh(message).failures == 0 and fresh(message).status == MessageStatus.PENDING
    delivery.record_result(delivery.Result(current, AttemptOutcome.SUCCEEDED, 200), now=later)
    message = fresh(message)
    assert message.status == MessageStatus.SUCCEEDED and message.attempts == 2


# -- the sweep ------------------------------------------------------------------------------------


def test_the_delivery_schedule_sweeps_due_messages(acme, receiver, make_endpoint):
    from django_q.models import Schedule

    from portal.webhooks import tasks

    Schedule.objects.filter(name="webhooks-deliver").delete()  # as after a flush of the database
    services.ensure_delivery_schedule()
    services.ensure_delivery_schedule()  # idempotent
    schedule = Schedule.objects.get(name="webhooks-deliver")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "portal.webhooks.tasks.deliver_due", Schedule.MINUTES, 1, -1,
    )  # fmt: skip
    make_endpoint(receiver.url, receiver=receiver)
    emit(acme, key="a")
    emit(acme, key="b")
    assert tasks.deliver_due() == 2
    assert len(receiver.verified) == 2
