"""Webhook endpoints, their signing secrets, the outbox of messages and every delivery attempt
(PRODUCT §6)."""

from __future__ import annotations

import base64
import secrets as random

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from portal.core.models import TenantModel


class EventType(models.TextChoices):
    DRIFT_EVENT_CREATED = "drift_event.created", "A drift event was found"
    DRIFT_EVENT_UPDATED = "drift_event.updated", "A drift event was updated by a re-run"
    ALERT_TRIGGERED = "alert.triggered", "An alert was triggered"
    ALERT_RESOLVED = "alert.resolved", "An alert was resolved"
    UPLOAD_COMPLETED = "upload.completed", "A claims upload was imported"
    UPLOAD_FAILED = "upload.failed", "A claims upload failed"
    DRIFT_RUN_COMPLETED = "drift_run.completed", "A drift run finished"
    REPORT_COMPLETED = "report.completed", "A report is ready"
    WEBHOOK_TEST = "webhook.test", "A test message"


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (Standard Webhooks allows 24 to 64)."""
    return "whsec_" + base64.b64encode(random.token_bytes(32)).decode()


def new_webhook_id() -> str:
    """The ``webhook-id`` header: kept across every attempt and replay of a message."""
    return "msg_" + random.token_urlsafe(18)


class WebhookEndpoint(TenantModel):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000)
    # a JSON list of EventType values; empty = every event type ("contains" is jsonb @>)
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("customer", Lower("name"), name="webhook_endpoint_name_ci"),
            models.CheckConstraint(
                condition=Q(enabled=True) | Q(disabled_at__isnull=False),
                name="webhook_endpoint_disabled_at",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookSecret(TenantModel):
    """A signing secret. The current one has no ``expires_at``; a rotated-out one stays valid
    (messages are signed with both) until its ``expires_at``."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(max_length=100)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "endpoint", "-created_at"], name="webhook_secret_ep")
        ]

    def __str__(self) -> str:
        return f"secret of {self.endpoint_id} ({self.secret[:10]}…)"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    DEAD = "dead", "Dead"


class WebhookMessage(TenantModel):
    """One event for one endpoint (the outbox row). ``payload`` holds the exact bytes sent, so
    the signature is over exactly what goes on the wire."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    event_key = models.CharField(max_length=200)
    webhook_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.TextField()
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts ever made")
    failures = models.PositiveIntegerField(
        default=0, help_text="Failed attempts in a row since the message was queued or replayed"
    )
    # Due time while pending; also the claim's lease while a worker sends it (see delivery.py).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "endpoint", "event_key"], name="webhook_message_event_once"
            ),
            models.UniqueConstraint(
                fields=["customer", "webhook_id"], name="webhook_message_webhook_id"
            ),
            models.CheckConstraint(
                condition=Q(status__in=MessageStatus.values), name="webhook_message_status"
            ),
            models.CheckConstraint(
                condition=~Q(status=MessageStatus.PENDING) | Q(next_attempt_at__isnull=False),
                name="webhook_message_pending_is_due",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "endpoint", "-created_at"], name="webhook_message_log"
            ),
            # The delivery sweep claims due messages of every customer at once, so this one index
            # does not start with customer_id. It is partial (pending rows only: small), and under
            # Citus the sweep runs on each shard, where the index is local to it.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_message_due",
                condition=Q(status=MessageStatus.PENDING),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.event_type} ({self.status})"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded (2xx)"
    HTTP_ERROR = "http_error", "Error status"
    REDIRECT = "redirect", "Redirect (not followed)"
    GONE = "gone", "Gone (410): endpoint disabled"
    TIMEOUT = "timeout", "Timed out"
    NETWORK_ERROR = "network_error", "Network error"
    REFUSED = "refused", "Refused: not a public address"


class WebhookAttempt(TenantModel):
    """One try to deliver a message: written after the answer (or the failure)."""

    message = models.ForeignKey(
        WebhookMessage, on_delete=models.CASCADE, related_name="attempt_set"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True, help_text="The first 2 KB of the response")
    error = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "message", "-started_at"], name="webhook_attempt_msg")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=AttemptOutcome.values), name="webhook_attempt_outcome"
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.message_id}: {self.outcome}"
