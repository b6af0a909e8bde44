"""Reports (PRODUCT §7): the weekly drift summary and exports of the filtered tables.

A ``Report`` is one request (what, with which filters, for which period, by whom, how far it got);
its ``ReportFile`` rows are the generated files, one per format, stored under ``MEDIA_ROOT``.
``ReportSettings`` holds a customer's weekly schedule and report recipients.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from portal.core.models import TenantModel


class ReportKind(models.TextChoices):
    WEEKLY_SUMMARY = "weekly_summary", "Weekly drift summary"
    CLAIMS_EXPORT = "claims_export", "Claims export"
    DRIFT_EVENTS_EXPORT = "drift_events_export", "Drift events export"
    ALERTS_EXPORT = "alerts_export", "Alerts export"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ReportTrigger(models.TextChoices):
    PORTAL = "portal", "Portal"
    API = "api", "API"
    SCHEDULE = "schedule", "Weekly schedule"
    DEMO = "demo", "Demo"


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


FINISHED = (ReportStatus.SUCCEEDED, ReportStatus.FAILED)
ON_DEMAND = (ReportTrigger.PORTAL, ReportTrigger.API)

# The formats each kind produces (PRODUCT §7).
FORMATS: dict[str, tuple[str, ...]] = {
    ReportKind.WEEKLY_SUMMARY: (ReportFormat.PDF, ReportFormat.CSV, ReportFormat.XLSX),
    ReportKind.CLAIMS_EXPORT: (ReportFormat.CSV, ReportFormat.XLSX),
    ReportKind.DRIFT_EVENTS_EXPORT: (ReportFormat.CSV, ReportFormat.XLSX),
    ReportKind.ALERTS_EXPORT: (ReportFormat.CSV, ReportFormat.XLSX),
}
CONTENT_TYPES = {
    ReportFormat.PDF: "application/pdf",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class Report(TenantModel):
    kind = models.CharField(max_length=24, choices=ReportKind.choices)
    # The table's querystring filters (name -> value) an export was asked with; empty for the
    # weekly summary. Replayed through the table's FilterSet when the report is generated.
    filters = models.JSONField(default=dict, blank=True)
    period_start = models.DateField(null=True, blank=True)  # the weekly summary's period
    period_end = models.DateField(null=True, blank=True)  # inclusive
    # The Monday of the week a scheduled summary belongs to: one per customer and week (unique).
    schedule_week = models.DateField(null=True, blank=True)
    trigger = models.CharField(
        max_length=16, choices=ReportTrigger.choices, default=ReportTrigger.PORTAL
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=ReportStatus.choices, default=ReportStatus.QUEUED
    )
    error = models.TextField(blank=True)
    # progress, written while generating (autocommit: other connections see it at once)
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(default=0)
    row_count = models.BigIntegerField(default=0)  # rows in the generated table
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="report_customer_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ReportKind.values), name="report_kind"),
            models.CheckConstraint(
                condition=Q(status__in=ReportStatus.values), name="report_status"
            ),
            models.CheckConstraint(
                condition=Q(trigger__in=ReportTrigger.values), name="report_trigger"
            ),
            models.CheckConstraint(
                condition=Q(rows_done__gte=0, rows_total__gte=0, row_count__gte=0),
                name="report_counts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True, period_end__isnull=True)
                | Q(period_start__lte=F("period_end")),
                name="report_period_order",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ReportKind.WEEKLY_SUMMARY) | Q(period_start__isnull=False),
                name="report_summary_has_period",
            ),
            models.CheckConstraint(
                condition=Q(schedule_week__isnull=True) | Q(trigger=ReportTrigger.SCHEDULE),
                name="report_schedule_week_scheduled",
            ),
            models.UniqueConstraint(
                fields=["customer", "schedule_week"],
                condition=Q(schedule_week__isnull=False),
                name="report_one_scheduled_per_week",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def formats(self) -> tuple[str, ...]:
        return FORMATS[self.kind]

    @property
    def progress_percent(self) -> int:
        if self.status == ReportStatus.SUCCEEDED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


def report_file_path(instance: ReportFile, filename: str) -> str:
    return f"reports/{instance.customer_id}/{instance.report_id}/{filename}"


class ReportFile(TenantModel):
    """One generated file of a report (one per format)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="files")
    format = models.CharField(max_length=8, choices=ReportFormat.choices)
    file = models.FileField(upload_to=report_file_path, max_length=500)
    file_name = models.CharField(max_length=200)  # the name the download is offered under
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["report", "format"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "report", "format"], name="report_file_one_per_format"
            ),
            models.CheckConstraint(
                condition=Q(format__in=ReportFormat.values), name="report_file_format"
            ),
            models.CheckConstraint(condition=Q(size_bytes__gte=0), name="report_file_size"),
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


class ReportSettings(TenantModel):
    """A customer's weekly summary schedule and report recipients (admins edit them). A
    customer without a row has the defaults: the summary every Monday, nothing e-mailed."""

    weekly_enabled = models.BooleanField(default=True)
    weekday = models.PositiveSmallIntegerField(default=0)  # 0 = Monday … 6 = Sunday
    recipients = ArrayField(models.EmailField(), default=list, blank=True, size=20)
    email_pdf = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "report settings"
        constraints = [
            models.UniqueConstraint(fields=["customer"], name="report_settings_customer"),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="report_settings_weekday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: report settings"
