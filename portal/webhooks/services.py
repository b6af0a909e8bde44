"""Writes of the webhooks app (PRODUCT §6).

The outbox: ``message_emit`` is called by other apps inside the transaction of the event that
caused it. It writes one ``WebhookMessage`` per enabled endpoint subscribed to the event type
(``INSERT … ON CONFLICT DO NOTHING`` on (customer, endpoint, event_key): emitting the same event
twice writes nothing the second time) and hands delivery to django-q2 once the transaction
commits. Delivery itself (``delivery.py``) only ever happens in workers.

Endpoint management services are keyword-only, atomic, permission-checked
(``accounts.manage_webhooks``) and audited.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from portal.accounts.models import Customer, User
from portal.audit.actions import Action
from portal.audit.services import record
from portal.core.exceptions import Conflict, DomainError, NotAllowed
from portal.core.tasks import enqueue
from portal.webhooks.models import (
    EventType,
    MessageStatus,
    WebhookEndpoint,
    WebhookMessage,
    WebhookSecret,
    new_secret,
    new_webhook_id,
)
from portal.webhooks.transport import validate_url

ROTATION_OVERLAP = timedelta(hours=24)
PERMISSION = "accounts.manage_webhooks"
DELIVER_TASK = "portal.webhooks.tasks.deliver"
_UNSET: Any = object()


# -- the outbox -----------------------------------------------------------------------------------


def _timestamp(now) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def payload_for(*, customer: Customer, event_type: str, data: dict, now=None) -> str:
    """The exact body: ``{"type", "timestamp", "data"}``; data always names the customer."""
    body = {
        "type": event_type,
        "timestamp": _timestamp(now or timezone.now()),
        "data": {"customer": customer.slug, **data},
    }
    return json.dumps(body, separators=(",", ":"), default=str)


_INSERT = """
INSERT INTO webhooks_webhookmessage (
    customer_id, endpoint_id, event_key, webhook_id, event_type, payload, status, attempts,
    failures, next_attempt_at, last_error, last_status_code, created_at, updated_at
)
SELECT %s, endpoint_id, %s, webhook_id, %s, %s, 'pending', 0, 0, %s, '', NULL, %s, %s
FROM unnest(%s::bigint[], %s::text[]) AS t(endpoint_id, webhook_id)
ON CONFLICT (customer_id, endpoint_id, event_key) DO NOTHING
RETURNING id
"""


def messages_write(
    *, customer: Customer, event_type: str, data: dict, event_key: str, endpoint_ids: list[int]
) -> list[WebhookMessage]:
    """Write the outbox rows (no enqueue): one per endpoint, none for an (endpoint, event_key)
    that already has one. Returns the rows written now."""
    if not endpoint_ids:
        return []
    if event_type not in EventType.values:
        raise ValueError(f"Unknown webhook event type {event_type!r}.")
    if not event_key or len(event_key) > 200:
        raise ValueError("event_key must be 1 to 200 characters.")
    now = timezone.now()
    payload = payload_for(customer=customer, event_type=event_type, data=data, now=now)
    ids = [int(pk) for pk in endpoint_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            [
                customer.pk, event_key, event_type, payload, now, now, now,
                ids, [new_webhook_id() for _ in ids],
            ],
        )  # fmt: skip
        written = [row[0] for row in cursor.fetchall()]
    return list(WebhookMessage.objects.filter(customer=customer, pk__in=written).order_by("pk"))


def subscribed_endpoint_ids(
    *, customer: Customer, event_type: str, endpoint_ids: Iterable[int] | None = None
) -> list[int]:
    endpoints = WebhookEndpoint.objects.filter(customer=customer, enabled=True).filter(
        Q(event_types=[]) | Q(event_types__contains=[event_type])
    )
    if endpoint_ids is not None:
        endpoints = endpoints.filter(pk__in=[int(pk) for pk in endpoint_ids])
    return list(endpoints.order_by("pk").values_list("pk", flat=True))


def message_emit(
    *,
    customer: Customer,
    event_type: str,
    data: dict,
    event_key: str,
    endpoint_ids: Iterable[int] | None = None,
) -> list[WebhookMessage]:
    """Queue ``event_type`` for every enabled endpoint of ``customer`` subscribed to it
    (only ``endpoint_ids`` when given). Call it inside the transaction of the event that caused
    it: the messages commit (or roll back) with it, and delivery starts after the commit.

    ``data`` is thin (ids, type, non-identifying summary numbers — never PHI); ``event_key``
    names the event (e.g. ``"drift_event.created:913"``): one message per endpoint and key, so a
    repeated emit writes nothing. Returns the messages written now.
    """
    if event_type not in EventType.values:
        raise ValueError(f"Unknown webhook event type {event_type!r}.")
    ids = subscribed_endpoint_ids(
        customer=customer, event_type=event_type, endpoint_ids=endpoint_ids
    )
    messages = messages_write(
        customer=customer, event_type=event_type, data=data, event_key=event_key, endpoint_ids=ids
    )
    if messages:
        enqueue(DELIVER_TASK, [m.pk for m in messages])
    return messages


def has_endpoints(*, customer_id: int) -> bool:
    """Whether emitting for this customer can write anything (a cheap guard for hot paths)."""
    return WebhookEndpoint.objects.filter(customer_id=customer_id, enabled=True).exists()


# -- endpoints ------------------------------------------------------------------------------------


def _require(actor: User | None, customer: Customer) -> None:
    if actor is not None and not actor.has_perm(PERMISSION, customer):
        raise NotAllowed("Your role at this customer does not allow managing webhooks.")


def _clean_name(*, customer: Customer, name: str, exclude_pk: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("Give the endpoint a name.", field="name")
    if len(name) > 100:
        raise DomainError("Keep the name to 100 characters.", field="name")
    taken = WebhookEndpoint.objects.filter(customer=customer, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise Conflict(f"An endpoint named “{name}” exists already.", field="name")
    return name


def _clean_url(url: str) -> str:
    if len(url or "") > 2000:
        raise DomainError("Keep the URL to 2,000 characters.", field="url")
    try:
        return validate_url(url)
    except ValueError as exc:
        raise DomainError(str(exc), field="url") from None


def _clean_event_types(event_types: Iterable[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(event_types or []))
    unknown = [t for t in chosen if t not in EventType.values]
    if unknown:
        raise DomainError(
            f"Unknown event type {unknown[0]!r}; choose from {', '.join(EventType.values)}.",
            field="event_types",
        )
    return chosen


def _save_unique(endpoint: WebhookEndpoint) -> None:
    """Save; a concurrent request that took the name first is a Conflict, not a 500 (the
    savepoint keeps the outer transaction usable)."""
    try:
        with transaction.atomic():
            endpoint.save()
    except IntegrityError:
        raise Conflict(
            f"An endpoint named “{endpoint.name}” exists already.", field="name"
        ) from None


@transaction.atomic
def endpoint_create(
    *,
    customer: Customer,
    actor: User | None,
    name: str,
    url: str,
    event_types: Iterable[str] | None = None,
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint and its first secret; returns (endpoint, secret) — the secret is shown
    to the user this once."""
    _require(actor, customer)
    endpoint = WebhookEndpoint(
        customer=customer,
        name=_clean_name(customer=customer, name=name),
        url=_clean_url(url),
        event_types=_clean_event_types(event_types),
        enabled=enabled,
        disabled_at=None if enabled else timezone.now(),
        disabled_reason="" if enabled else "Created disabled",
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _save_unique(endpoint)
    secret = WebhookSecret.objects.create(customer=customer, endpoint=endpoint, secret=new_secret())
    record(
        action=Action.WEBHOOK_ENDPOINT_CREATED,
        actor=actor,
        customer=customer,
        obj=endpoint,
        data={"name": endpoint.name, "url": endpoint.url, "event_types": endpoint.event_types},
    )
    return endpoint, secret.secret


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: User | None,
    name: str = _UNSET,
    url: str = _UNSET,
    event_types: Iterable[str] | None = _UNSET,
) -> WebhookEndpoint:
    """Change the name, URL or subscribed event types (only what is given)."""
    _require(actor, endpoint.customer)
    changed: dict[str, Any] = {}
    if name is not _UNSET:
        endpoint.name = _clean_name(customer=endpoint.customer, name=name, exclude_pk=endpoint.pk)
        changed["name"] = endpoint.name
    if url is not _UNSET:
        endpoint.url = _clean_url(url)
        changed["url"] = endpoint.url
    if event_types is not _UNSET:
        endpoint.event_types = _clean_event_types(event_types)
        changed["event_types"] = endpoint.event_types
    _save_unique(endpoint)
    record(
        action=Action.WEBHOOK_ENDPOINT_UPDATED,
        actor=actor,
        customer=endpoint.customer,
        obj=endpoint,
        data=changed,
    )
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: User | None) -> None:
    """Delete an endpoint with its secrets, messages and attempts (the audit log keeps the
    record of what was sent)."""
    _require(actor, endpoint.customer)
    record(
        action=Action.WEBHOOK_ENDPOINT_DELETED,
        actor=actor,
        customer=endpoint.customer,
        obj=endpoint,
        data={"name": endpoint.name, "url": endpoint.url},
    )
    endpoint.delete()


def _disable(endpoint: WebhookEndpoint, *, reason: str, now=None) -> bool:
    """Disable unless already disabled; True if this call disabled it."""
    now = now or timezone.now()
    done = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:300], disabled_at=now, updated_at=now
    )
    endpoint.refresh_from_db()
    return bool(done)


@transaction.atomic
def endpoint_disable(
    *, endpoint: WebhookEndpoint, actor: User | None, reason: str = ""
) -> WebhookEndpoint:
    """Stop sending: pending messages wait until the endpoint is enabled again."""
    _require(actor, endpoint.customer)
    who = actor.email if actor is not None and actor.is_authenticated else "staff"
    if _disable(endpoint, reason=reason or f"Disabled by {who}"):
        record(
            action=Action.WEBHOOK_ENDPOINT_DISABLED,
            actor=actor,
            customer=endpoint.customer,
            obj=endpoint,
            data={"reason": endpoint.disabled_reason},
        )
    return endpoint


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint, actor: User | None) -> WebhookEndpoint:
    """Send again: the failure clock restarts, and messages that waited are due now."""
    _require(actor, endpoint.customer)
    now = timezone.now()
    if WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=False).update(
        enabled=True, disabled_reason="", disabled_at=None, failing_since=None, updated_at=now
    ):
        waiting = list(
            WebhookMessage.objects.filter(
                customer=endpoint.customer, endpoint=endpoint, status=MessageStatus.PENDING
            ).values_list("pk", flat=True)
        )
        WebhookMessage.objects.filter(pk__in=waiting).update(
            next_attempt_at=now, lease_token=None, updated_at=now
        )
        record(
            action=Action.WEBHOOK_ENDPOINT_ENABLED,
            actor=actor,
            customer=endpoint.customer,
            obj=endpoint,
            data={"pending_messages": len(waiting)},
        )
        if waiting:
            enqueue(DELIVER_TASK, waiting)
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint, actor: User | None) -> WebhookMessage:
    """Queue a ``webhook.test`` message to this endpoint (whatever it subscribes to)."""
    _require(actor, endpoint.customer)
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before sending a test.")
    now = timezone.now()
    (message,) = messages_write(
        customer=endpoint.customer,
        event_type=EventType.WEBHOOK_TEST,
        data={"endpoint_id": endpoint.pk, "message": "A test message from Payerwatch."},
        event_key=f"webhook.test:{now.timestamp():.6f}:{new_webhook_id()}",
        endpoint_ids=[endpoint.pk],
    )
    record(
        action=Action.WEBHOOK_TEST_REQUESTED,
        actor=actor,
        customer=endpoint.customer,
        obj=endpoint,
        data={"webhook_id": message.webhook_id},
    )
    enqueue(DELIVER_TASK, [message.pk])
    return message


def active_secrets(*, endpoint_id: int, now=None) -> list[str]:
    """The secrets to sign with now: the current one first, then any still in its 24 h overlap."""
    now = now or timezone.now()
    return list(
        WebhookSecret.objects.filter(endpoint_id=endpoint_id)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at", "-id")
        .values_list("secret", flat=True)
    )


@transaction.atomic
def secret_rotate(*, endpoint: WebhookEndpoint, actor: User | None, now=None) -> str:
    """A new current secret (returned, shown once). The previous one stays valid for 24 h:
    messages are signed with both meanwhile, so receivers can switch without losing any."""
    _require(actor, endpoint.customer)
    now = now or timezone.now()
    WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
    WebhookSecret.objects.filter(endpoint=endpoint, expires_at__isnull=True).update(
        expires_at=now + ROTATION_OVERLAP, updated_at=now
    )
    WebhookSecret.objects.filter(endpoint=endpoint, expires_at__lte=now).delete()
    secret = WebhookSecret.objects.create(
        customer=endpoint.customer, endpoint=endpoint, secret=new_secret()
    )
    record(
        action=Action.WEBHOOK_SECRET_ROTATED,
        actor=actor,
        customer=endpoint.customer,
        obj=endpoint,
        data={"previous_valid_until": (now + ROTATION_OVERLAP).isoformat()},
    )
    return secret.secret


# -- replay ---------------------------------------------------------------------------------------


def _requeue(message_ids: list[int], now) -> None:
    WebhookMessage.objects.filter(pk__in=message_ids).update(
        status=MessageStatus.PENDING,
        failures=0,
        next_attempt_at=now,
        lease_token=None,
        dead_at=None,
        updated_at=now,
    )


@transaction.atomic
def message_replay(*, message: WebhookMessage, actor: User | None) -> WebhookMessage:
    """Send a dead (or delivered) message again: same ``webhook-id``, same body, new attempts
    with five retries again."""
    _require(actor, message.customer)
    message = WebhookMessage.objects.select_for_update().get(pk=message.pk)
    if message.status == MessageStatus.PENDING:
        raise Conflict("This message is still being delivered; there is nothing to replay.")
    if not WebhookEndpoint.objects.filter(pk=message.endpoint_id, enabled=True).exists():
        raise Conflict("The endpoint is disabled; enable it before replaying its messages.")
    now = timezone.now()
    previous = message.status
    _requeue([message.pk], now)
    record(
        action=Action.WEBHOOK_REPLAYED,
        actor=actor,
        customer=message.customer,
        obj=message,
        data={"webhook_id": message.webhook_id, "previous_status": previous},
    )
    enqueue(DELIVER_TASK, [message.pk])
    message.refresh_from_db()
    return message


@transaction.atomic
def messages_replay_dead(*, endpoint: WebhookEndpoint, actor: User | None) -> int:
    """Replay every dead message of the endpoint; returns how many."""
    _require(actor, endpoint.customer)
    if not WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).exists():
        raise Conflict("The endpoint is disabled; enable it before replaying its messages.")
    ids = list(
        WebhookMessage.objects.select_for_update(skip_locked=True)
        .filter(customer=endpoint.customer, endpoint=endpoint, status=MessageStatus.DEAD)
        .values_list("pk", flat=True)
    )
    if ids:
        _requeue(ids, timezone.now())
        enqueue(DELIVER_TASK, ids)
    record(
        action=Action.WEBHOOK_REPLAYED,
        actor=actor,
        customer=endpoint.customer,
        obj=endpoint,
        data={"dead_messages": len(ids)},
    )
    return len(ids)


def ensure_delivery_schedule() -> None:
    """The ``webhooks-deliver`` django-q2 schedule exists (its migration creates it; a database
    flushed since, e.g. by a test suite, gets it back here)."""
    from importlib import import_module

    from django_q.models import Schedule

    migration = import_module("portal.webhooks.migrations.0002_delivery_schedule")
    migration.ensure_delivery_schedule(Schedule)
