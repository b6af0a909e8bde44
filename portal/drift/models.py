"""Drift runs and the events they find (PRODUCT §4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from portal.core.models import TenantModel
from portal.drift.detectors import Direction, DriftType


class DetectionSettings(TenantModel):
    """A customer's detection windows and minimum volume (admins edit them)."""

    current_days = models.PositiveSmallIntegerField(default=14)
    baseline_days = models.PositiveSmallIntegerField(default=90)
    min_volume = models.PositiveIntegerField(default=30)

    class Meta:
        verbose_name_plural = "detection settings"
        constraints = [
            models.UniqueConstraint(fields=["customer"], name="detection_settings_customer"),
            models.CheckConstraint(
                condition=Q(current_days__gte=7, current_days__lte=60)
                & Q(baseline_days__gte=28, baseline_days__lte=365)
                & Q(min_volume__gte=10),
                name="detection_settings_ranges",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.current_days} vs {self.baseline_days} days"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class DriftRun(TenantModel):
    as_of = models.DateField()
    trigger = models.CharField(
        max_length=16, default="manual"
    )  # manual|api|schedule|upload|command
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    parameters = models.JSONField(default=dict, blank=True)
    baseline_start = models.DateField(null=True, blank=True)
    baseline_end = models.DateField(null=True, blank=True)
    current_start = models.DateField(null=True, blank=True)
    current_end = models.DateField(null=True, blank=True)
    segments_total = models.IntegerField(default=0)
    segments_examined = models.IntegerField(default=0)
    tests_run = models.IntegerField(default=0)
    events_created = models.IntegerField(default=0)
    events_updated = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="drift_run_customer_created")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="drift_run_status"
            ),
            models.CheckConstraint(
                condition=Q(segments_examined__lte=F("segments_total"))
                & Q(tests_run__gte=0, events_created__gte=0, events_updated__gte=0),
                name="drift_run_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} as of {self.as_of} ({self.status})"

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class DriftEvent(TenantModel):
    """One drift of one segment in one current window. Its natural key is unique: a re-run of the
    same window updates the event instead of adding another."""

    run = models.ForeignKey(DriftRun, on_delete=models.SET_NULL, null=True, related_name="events")
    payer = models.ForeignKey("claims.Payer", on_delete=models.PROTECT, related_name="drift_events")
    cpt_group = models.CharField(max_length=32)  # "ALL" for payer-wide
    drift_type = models.CharField(max_length=24, choices=[(t.value, t.value) for t in DriftType])
    baseline_start = models.DateField()
    baseline_end = models.DateField()
    current_start = models.DateField()
    current_end = models.DateField()
    baseline_value = models.FloatField()
    current_value = models.FloatField()
    delta = models.FloatField()
    relative_delta = models.FloatField(null=True, blank=True)
    baseline_n = models.IntegerField()
    current_n = models.IntegerField()
    p_value = models.FloatField()
    q_value = models.FloatField()
    test = models.CharField(max_length=64)
    direction = models.CharField(max_length=10, choices=[(d.value, d.value) for d in Direction])
    severity = models.FloatField()
    label = models.CharField(max_length=10)
    revenue_impact = models.DecimalField(max_digits=14, decimal_places=2)
    reason_code = models.CharField(max_length=20, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-current_end", "-severity", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "customer",
                    "payer",
                    "cpt_group",
                    "drift_type",
                    "current_start",
                    "current_end",
                ],
                name="drift_event_natural_key",
            ),
            models.CheckConstraint(
                condition=Q(severity__gte=0, severity__lte=1), name="drift_event_severity_range"
            ),
            models.CheckConstraint(
                condition=Q(p_value__gte=0, p_value__lte=1, q_value__gte=0, q_value__lte=1),
                name="drift_event_p_range",
            ),
            models.CheckConstraint(
                condition=Q(baseline_start__lte=F("baseline_end"))
                & Q(baseline_end__lt=F("current_start"))
                & Q(current_start__lte=F("current_end")),
                name="drift_event_window_order",
            ),
            models.CheckConstraint(
                condition=Q(drift_type__in=[t.value for t in DriftType]), name="drift_event_type"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=[d.value for d in Direction]),
                name="drift_event_direction",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-current_end", "-severity"], name="drift_event_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drift_type} {self.direction} {self.payer}/{self.cpt_group}"
