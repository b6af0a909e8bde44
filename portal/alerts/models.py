"""Alert rules, the alerts they raise on drift events, and the feedback people give (PRODUCT §5).

Rules keep their payer and webhook-endpoint choices as arrays of ids on the rule row rather than
in many-to-many tables: every tenant table must carry ``customer_id`` (PRODUCT §11, Citus), rules
are few and small, and matching happens in Python. Ids of payers or endpoints deleted later are
simply ignored when a rule is read.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from portal.core.models import TenantModel
from portal.drift.detectors import DriftType


class RuleDirection(models.TextChoices):
    WORSENING = "worsening", "Worsening only"
    IMPROVING = "improving", "Improving only"
    ANY = "any", "Either direction"


class AlertRule(TenantModel):
    """Which drift events deserve an alert, and where it goes.

    Empty choices mean "any": a rule with no drift types, payers or CPT groups matches every event
    of its minimum severity and direction.
    """

    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    drift_types = ArrayField(
        models.CharField(max_length=24, choices=[(t.value, t.value) for t in DriftType]),
        default=list,
        blank=True,
    )
    payer_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    cpt_groups = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    min_severity = models.FloatField(default=0.0)
    direction = models.CharField(
        max_length=10, choices=RuleDirection.choices, default=RuleDirection.WORSENING
    )
    email_recipients = ArrayField(models.EmailField(), default=list, blank=True)
    webhook_endpoint_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    cooldown_hours = models.PositiveIntegerField(default=24)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(F("customer"), Lower("name"), name="alert_rule_name_ci"),
            models.CheckConstraint(
                condition=Q(min_severity__gte=0, min_severity__lte=1),
                name="alert_rule_severity_range",
            ),
            models.CheckConstraint(
                condition=Q(direction__in=RuleDirection.values), name="alert_rule_direction"
            ),
            models.CheckConstraint(
                condition=Q(cooldown_hours__lte=24 * 90), name="alert_rule_cooldown_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class NotifyStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent"


class Alert(TenantModel):
    """One rule matched one drift event. Unique per (rule, event): overlapping runs cannot raise
    the same alert twice. Payer, drift type and severity are copied from the event so that
    cooldown and suppression look-ups need no join."""

    rule = models.ForeignKey(AlertRule, on_delete=models.SET_NULL, null=True, related_name="alerts")
    rule_name = models.CharField(max_length=100)
    event = models.ForeignKey("drift.DriftEvent", on_delete=models.CASCADE, related_name="alerts")
    payer = models.ForeignKey("claims.Payer", on_delete=models.PROTECT, related_name="alerts")
    drift_type = models.CharField(max_length=24)
    severity = models.FloatField()
    label = models.CharField(max_length=10)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    suppressed = models.BooleanField(default=False)
    suppressed_reason = models.CharField(max_length=300, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # E-mail notification, recorded on the alert (webhook deliveries have their own log).
    notify_status = models.CharField(
        max_length=10, choices=NotifyStatus.choices, default=NotifyStatus.PENDING
    )
    notify_attempts = models.PositiveSmallIntegerField(default=0)
    notified_at = models.DateTimeField(null=True, blank=True)
    notify_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "rule", "event"], name="alert_rule_event"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status"),
            models.CheckConstraint(
                condition=Q(suppressed=False) | ~Q(suppressed_reason=""),
                name="alert_suppressed_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(notify_status__in=NotifyStatus.values), name="alert_notify_status"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "status", "-created_at"], name="alert_customer_status"
            ),
            models.Index(
                fields=["customer", "payer", "drift_type", "-created_at"],
                name="alert_customer_payer_type",
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk}: {self.rule_name} on {self.drift_type}"

    @property
    def is_active(self) -> bool:
        return self.status != AlertStatus.RESOLVED and not self.suppressed


class Verdict(models.TextChoices):
    REAL = "real", "Real"
    NOISE = "noise", "Noise"
    NEEDS_FOLLOWUP = "needs_followup", "Needs follow-up"


class ReasonCode(models.TextChoices):
    PAYER_POLICY = "payer_policy", "Payer policy change"
    CODING = "coding", "Coding or documentation issue"
    CONTRACT = "contract", "Contract or fee schedule"
    AUTHORIZATION = "authorization", "Prior authorization"
    DATA_ISSUE = "data_issue", "Data or upload issue"
    SEASONAL = "seasonal", "Seasonal or expected"
    VOLUME = "volume", "Too little volume to matter"
    OTHER = "other", "Other"


class AlertFeedback(TenantModel):
    """A person's verdict on an alert: one per user per alert, editable."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_feedback"
    )
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reason_codes = ArrayField(
        models.CharField(max_length=20, choices=ReasonCode.choices), default=list, blank=True
    )
    notes = models.TextField(blank=True, max_length=4000)
    recovered_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    recovered_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "alert feedback"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "alert", "user"], name="alert_feedback_one_per_user"
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="alert_feedback_verdict"
            ),
            models.CheckConstraint(
                condition=Q(recovered_amount__isnull=True) | Q(recovered_amount__gte=0),
                name="alert_feedback_recovered_positive",
            ),
            models.CheckConstraint(
                condition=Q(recovered_amount__isnull=True) | Q(recovered_on__isnull=False),
                name="alert_feedback_recovered_dated",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "verdict", "-updated_at"], name="alert_feedback_verdict_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on alert {self.alert_id}: {self.verdict}"
