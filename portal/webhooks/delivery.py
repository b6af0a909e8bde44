"""Delivering webhook messages (PRODUCT §6): claim, sign, send, record. Runs in workers only.

Retry schedule — a message is tried at most 1 + ``MAX_RETRIES`` times:

1. The first attempt goes as soon as a worker picks the message up (the task queued on commit).
2. After the n-th failure (n = 1 … 5) the next attempt is due ``15 s × 6^(n-1)`` later, with ±20 %
   jitter so that a receiver coming back is not hit by every message at once:
   15 s, 1.5 min, 9 min, 54 min, 5.4 h (about 6.5 h in all).
3. A 429 or 503 with ``Retry-After`` (seconds or an HTTP date) waits at least that long, capped
   at ``RETRY_AFTER_CAP`` (6 h) so a receiver cannot park a message for days.
4. After the 6th failed attempt the message is dead (dead letter); it can be replayed.
5. A 410 Gone disables the endpoint (the reason is recorded) and kills the message at once.
6. Only 2xx is success. A 3xx is a failure and is never followed; so are timeouts and network
   errors, and addresses refused by the SSRF guard (``transport``).
7. An endpoint whose attempts keep failing for 24 h (no success since ``failing_since``) is
   disabled and its customer's admins and owners are e-mailed.

Exactly one sender per attempt, and nothing lost when a worker dies:

1. ``claim`` picks due messages with ``SELECT … FOR UPDATE SKIP LOCKED`` and, in the same short
   statement, pushes their ``next_attempt_at`` one lease ahead and stamps a fresh
   ``lease_token``. Concurrent claimers skip each other's rows; once committed, the rows are no
   longer due, so nobody else sends them.
2. The HTTP request happens outside any transaction (a slow receiver holds no lock).
3. ``record_result`` writes the attempt row and the message's new state in one transaction, only
   if the message still carries our lease token.
4. A worker that dies after claiming leaves a message that is simply due again when the lease
   runs out: it is retried, never lost (receivers deduplicate on ``webhook-id``).

The periodic ``webhooks-deliver`` schedule (every minute) sweeps due messages; retries are sent by
that sweep, so their delays are minimums.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from portal.audit.actions import Action, Outcome
from portal.audit.services import record
from portal.webhooks import transport
from portal.webhooks.models import (
    AttemptOutcome,
    MessageStatus,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)

log = logging.getLogger(__name__)

MAX_RETRIES = 5
BACKOFF_BASE_SECONDS = 15
BACKOFF_FACTOR = 6
JITTER = 0.2
RETRY_AFTER_CAP = timedelta(hours=6)
FAILING_DISABLE_AFTER = timedelta(hours=24)
BODY_EXCERPT_BYTES = 2048
BATCH_SIZE = 100
SEND_THREADS = 8


def lease() -> timedelta:
    """How long a claim lasts: well beyond the longest request (the timeout), so a live worker
    always records its result before anyone may claim the message again."""
    return timedelta(seconds=max(60.0, 6 * float(settings.WEBHOOK_TIMEOUT_SECONDS)))


def retry_delay(failures: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``failures``-th failure in a row (1 … MAX_RETRIES), with jitter."""
    base = BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** (max(failures, 1) - 1)
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=base * spread)


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """``Retry-After``: delta-seconds or an HTTP date; capped; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = when - now
    return max(timedelta(0), min(wait, RETRY_AFTER_CAP))


# -- claim ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """Everything needed to send one message, read while claiming (no DB access while sending)."""

    message_id: int
    customer_id: int
    endpoint_id: int
    webhook_id: str
    event_type: str
    payload: str
    url: str
    secrets: tuple[str, ...]
    lease_token: uuid.UUID


_CLAIM = """
WITH due AS (
    SELECT m.id
    FROM webhooks_webhookmessage m
    JOIN webhooks_webhookendpoint e ON e.id = m.endpoint_id AND e.customer_id = m.customer_id
    WHERE m.status = 'pending' AND m.next_attempt_at <= %(now)s AND e.enabled
      {only_ids}
    ORDER BY m.next_attempt_at, m.id
    LIMIT %(limit)s
    FOR UPDATE OF m SKIP LOCKED
)
UPDATE webhooks_webhookmessage m
SET next_attempt_at = %(lease_until)s, lease_token = %(token)s, updated_at = %(now)s
FROM due
WHERE m.id = due.id
RETURNING m.id, m.customer_id, m.endpoint_id, m.webhook_id, m.event_type, m.payload
"""

_SECRETS = """
SELECT s.endpoint_id, s.secret, e.url
FROM webhooks_webhooksecret s JOIN webhooks_webhookendpoint e ON e.id = s.endpoint_id
WHERE s.endpoint_id = ANY(%(endpoints)s) AND (s.expires_at IS NULL OR s.expires_at > %(now)s)
ORDER BY s.endpoint_id, s.created_at DESC, s.id DESC
"""


def claim(
    *, now: datetime | None = None, limit: int = BATCH_SIZE, message_ids: list[int] | None = None
) -> list[Claimed]:
    """Claim up to ``limit`` due messages (of enabled endpoints) for this worker."""
    now = now or timezone.now()
    token = uuid.uuid4()
    params = {
        "now": now,
        "limit": limit,
        "lease_until": now + lease(),
        "token": token,
        "ids": list(message_ids or []),
    }
    only_ids = "AND m.id = ANY(%(ids)s)" if message_ids is not None else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM.format(only_ids=only_ids), params)
        rows = cursor.fetchall()
        if not rows:
            return []
        cursor.execute(_SECRETS, {"endpoints": list({r[2] for r in rows}), "now": now})
        secrets: dict[int, list[str]] = {}
        urls: dict[int, str] = {}
        for endpoint_id, secret, url in cursor.fetchall():
            secrets.setdefault(endpoint_id, []).append(secret)
            urls[endpoint_id] = url
    return [
        Claimed(
            message_id=mid,
            customer_id=cid,
            endpoint_id=eid,
            webhook_id=webhook_id,
            event_type=event_type,
            payload=payload,
            url=urls.get(eid, ""),
            secrets=tuple(secrets.get(eid, ())),
            lease_token=token,
        )
        for mid, cid, eid, webhook_id, event_type, payload in sorted(rows)
    ]


# -- send -----------------------------------------------------------------------------------------


def sign(*, secrets: tuple[str, ...], webhook_id: str, timestamp: datetime, payload: str) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per valid secret, space-separated."""
    return " ".join(Webhook(secret).sign(webhook_id, timestamp, payload) for secret in secrets)


@dataclass(frozen=True)
class Result:
    claimed: Claimed
    outcome: str
    status_code: int | None = None
    latency_ms: int = 0
    body: str = ""
    error: str = ""
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome == AttemptOutcome.SUCCEEDED


def _excerpt(response: httpx.Response) -> str:
    """The first 2 KB of the body, read without loading a huge answer."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= BODY_EXCERPT_BYTES:
            break
    return b"".join(chunks)[:BODY_EXCERPT_BYTES].decode("utf-8", errors="replace")


def send(client: httpx.Client, claimed: Claimed) -> Result:
    """Sign and POST exactly the stored bytes; classify the answer. No database access."""
    signed_at = datetime.now(UTC).replace(microsecond=0)
    if not claimed.secrets:
        return Result(claimed, AttemptOutcome.NETWORK_ERROR, error="The endpoint has no secret.")
    headers = {
        "content-type": "application/json",
        "webhook-id": claimed.webhook_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": sign(
            secrets=claimed.secrets,
            webhook_id=claimed.webhook_id,
            timestamp=signed_at,
            payload=claimed.payload,
        ),
    }
    started = time.perf_counter()
    try:
        with client.stream(
            "POST", claimed.url, content=claimed.payload.encode(), headers=headers
        ) as response:
            body = _excerpt(response)
    except httpx.TimeoutException as exc:
        return Result(
            claimed, AttemptOutcome.TIMEOUT, latency_ms=_ms(started), error=_describe(exc)
        )
    except httpx.HTTPError as exc:
        refused = isinstance(exc.__cause__, transport.AddressNotAllowed)
        outcome = AttemptOutcome.REFUSED if refused else AttemptOutcome.NETWORK_ERROR
        return Result(claimed, outcome, latency_ms=_ms(started), error=_describe(exc))
    code = response.status_code
    if 200 <= code < 300:
        outcome, error = AttemptOutcome.SUCCEEDED, ""
    elif 300 <= code < 400:
        where = response.headers.get("location", "")[:200]
        outcome, error = AttemptOutcome.REDIRECT, f"Redirect to {where or '?'} (not followed)"
    elif code == 410:
        outcome, error = AttemptOutcome.GONE, "410 Gone: the endpoint was disabled"
    else:
        outcome, error = AttemptOutcome.HTTP_ERROR, f"HTTP {code}"
    return Result(
        claimed,
        outcome,
        status_code=code,
        latency_ms=_ms(started),
        body=body,
        error=error,
        retry_after=response.headers.get("retry-after") if code in (429, 503) else None,
    )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _describe(exc: Exception) -> str:
    cause = exc.__cause__
    text = str(exc) or type(exc).__name__
    if isinstance(cause, transport.AddressNotAllowed):
        text = f"Refused: {cause}"
    return f"{type(exc).__name__}: {text}"[:500]


# -- record ---------------------------------------------------------------------------------------


def _notify_disabled(endpoint: WebhookEndpoint) -> None:
    from portal.accounts.models import Membership
    from portal.accounts.roles import Role

    recipients = list(
        Membership.objects.filter(
            customer_id=endpoint.customer_id, role__in=[Role.ADMIN, Role.OWNER]
        )
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return
    customer = endpoint.customer
    link = f"{settings.SITE_URL}/c/{customer.slug}/webhooks/{endpoint.pk}/"
    send_mail(
        subject=f"Payerwatch disabled the webhook endpoint “{endpoint.name}” of {customer.name}",
        message=(
            f"The webhook endpoint “{endpoint.name}” ({endpoint.url}) of {customer.name} was "
            f"disabled: {endpoint.disabled_reason}.\n\nMessages for it wait until it is enabled "
            f"again; dead messages can be replayed.\n\n{link}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )


def record_result(result: Result, *, now: datetime | None = None) -> WebhookMessage | None:
    """Write the attempt and the message's new state (one transaction), audit the send, and
    apply the endpoint rules (410, 24 h of failures)."""
    now = now or timezone.now()
    claimed = result.claimed
    with transaction.atomic():
        message = (
            WebhookMessage.objects.select_for_update()
            .filter(pk=claimed.message_id)
            .select_related("customer")
            .first()
        )
        if message is None:  # the endpoint was deleted meanwhile
            return None
        number = message.attempts + 1
        WebhookAttempt.objects.create(
            customer_id=claimed.customer_id,
            message=message,
            number=number,
            started_at=now,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            response_body=result.body,
            error=result.error[:500],
            outcome=result.outcome,
        )
        message.attempts = number
        message.last_attempt_at = now
        message.last_status_code = result.status_code
        message.last_error = result.error[:500]
        pending = message.status == MessageStatus.PENDING
        if pending and message.lease_token == claimed.lease_token:  # the lease is still ours
            message.lease_token = None
            if result.succeeded:
                message.status = MessageStatus.SUCCEEDED
                message.delivered_at = now
                message.next_attempt_at = None
            else:
                message.failures += 1
                if result.outcome == AttemptOutcome.GONE or message.failures > MAX_RETRIES:
                    message.status = MessageStatus.DEAD
                    message.dead_at = now
                    message.next_attempt_at = None
                else:
                    wait = retry_delay(message.failures)
                    asked = parse_retry_after(result.retry_after, now=now)
                    if asked is not None:
                        wait = max(wait, asked)
                    message.next_attempt_at = now + wait
        message.save()
        _endpoint_rules(result, now=now)
        record(
            action=Action.WEBHOOK_SENT,
            customer=message.customer,
            obj=message,
            outcome=Outcome.SUCCESS if result.succeeded else Outcome.FAILURE,
            actor_email="webhooks",
            data={
                "webhook_id": message.webhook_id,
                "event_type": message.event_type,
                "endpoint_id": claimed.endpoint_id,
                "attempt": number,
                "status_code": result.status_code,
                "outcome": result.outcome,
                "message_status": message.status,
            },
        )
    return message


def _endpoint_rules(result: Result, *, now: datetime) -> None:
    endpoints = WebhookEndpoint.objects.filter(pk=result.claimed.endpoint_id)
    if result.succeeded:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None, updated_at=now)
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now, updated_at=now)
    if result.outcome == AttemptOutcome.GONE:
        reason = "The receiver answered 410 Gone"
    elif endpoints.filter(failing_since__lte=now - FAILING_DISABLE_AFTER).exists():
        reason = "Every delivery failed for 24 hours"
    else:
        return
    if endpoints.filter(enabled=True).update(
        enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now
    ):
        endpoint = WebhookEndpoint.objects.select_related("customer").get(
            pk=result.claimed.endpoint_id
        )
        record(
            action=Action.WEBHOOK_ENDPOINT_DISABLED,
            customer=endpoint.customer,
            obj=endpoint,
            actor_email="webhooks",
            data={"reason": reason},
        )
        transaction.on_commit(lambda: _notify_disabled(endpoint))


# -- the loop -------------------------------------------------------------------------------------


def deliver_due(
    *,
    now: datetime | None = None,
    limit: int = BATCH_SIZE,
    message_ids: list[int] | None = None,
    client: httpx.Client | None = None,
    threads: int = SEND_THREADS,
) -> int:
    """Claim one batch of due messages, send them (in parallel threads: a slow receiver does not
    hold up the others), record each result as it comes. Returns how many were attempted."""
    batch = claim(now=now, limit=limit, message_ids=message_ids)
    if not batch:
        return 0
    own_client = client is None
    client = client or transport.safe_client(max_connections=max(threads, 1))
    try:
        if threads <= 1 or len(batch) == 1:
            for claimed in batch:
                record_result(send(client, claimed), now=now)
        else:
            with ThreadPoolExecutor(max_workers=min(threads, len(batch))) as pool:
                futures = [pool.submit(send, client, claimed) for claimed in batch]
                for future in as_completed(futures):
                    record_result(future.result(), now=now)
    finally:
        if own_client:
            client.close()
    return len(batch)


def deliver_all_due(*, budget_seconds: float = 50.0, now: datetime | None = None) -> int:
    """Sweep: deliver batches until nothing is due or the time budget is spent."""
    deadline = time.monotonic() + budget_seconds
    total = deliver_due(now=now)  # an idle sweep builds no HTTP client (TLS contexts cost CPU)
    if total == 0:
        return 0
    with transport.safe_client(max_connections=SEND_THREADS) as client:
        while time.monotonic() < deadline:
            sent = deliver_due(now=now, client=client)
            total += sent
            if sent == 0:
                break
    return total
