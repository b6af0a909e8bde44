"""Claims, the uploads that bring them, and the per-customer normalisation tables."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from portal.core.models import TenantModel


class Outcome(models.TextChoices):
    PAID = "PAID", "Paid"
    DENIED = "DENIED", "Denied"
    PENDING = "PENDING", "Pending"
    OTHER = "OTHER", "Other"


class Payer(TenantModel):
    """A canonical payer of one customer. ``key`` is the lower-cased, whitespace-collapsed name;
    ``name`` is how it is shown (the first spelling seen, or the alias target's name)."""

    key = models.CharField(max_length=200)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "key"], name="payer_customer_key"),
        ]

    def __str__(self) -> str:
        return self.name


class PayerAlias(TenantModel):
    """Raw payer names (by key) that mean another payer, e.g. "BCBS TX" → "Blue Cross Texas"."""

    raw_key = models.CharField(max_length=200)
    raw_name = models.CharField(max_length=200)
    payer = models.ForeignKey(Payer, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        ordering = ["raw_name"]
        verbose_name_plural = "payer aliases"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "raw_key"], name="payer_alias_customer_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.raw_name} → {self.payer}"


class CptGroupOverride(TenantModel):
    """A customer's own CPT group for one code; takes precedence over the default section."""

    cpt = models.CharField(max_length=5)
    group = models.CharField(max_length=32)

    class Meta:
        ordering = ["cpt"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "cpt"], name="cpt_override_customer_cpt"),
            models.CheckConstraint(
                condition=Q(cpt__regex=r"^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$"),
                name="cpt_override_code_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cpt} → {self.group}"


class UploadStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partially_succeeded", "Partially succeeded"
    FAILED = "failed", "Failed"


FINISHED = [UploadStatus.SUCCEEDED, UploadStatus.PARTIAL, UploadStatus.FAILED]


class Upload(TenantModel):
    """One file of claims and what became of it."""

    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="uploads/%Y/%m/", blank=True, max_length=500)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, default="portal")  # portal | api | command
    status = models.CharField(
        max_length=24, choices=UploadStatus.choices, default=UploadStatus.QUEUED
    )
    error = models.TextField(blank=True)
    # progress, written while processing from a separate connection
    bytes_processed = models.BigIntegerField(default=0)
    rows_processed = models.BigIntegerField(default=0)
    # results
    rows_total = models.IntegerField(default=0)
    inserted = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    warnings = models.IntegerField(default=0)
    ignored_columns = models.JSONField(default=list, blank=True)
    phi_columns = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="upload_customer_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=UploadStatus.values), name="upload_status_known"
            ),
            models.CheckConstraint(
                condition=Q(inserted__gte=0, updated__gte=0, unchanged__gte=0, rejected__gte=0)
                & Q(warnings__gte=0, rows_total__gte=0, size_bytes__gte=0),
                name="upload_counts_non_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[UploadStatus.SUCCEEDED, UploadStatus.PARTIAL])
                | Q(rows_total=F("inserted") + F("updated") + F("unchanged") + F("rejected")),
                name="upload_counts_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def progress_percent(self) -> int:
        if self.is_finished:
            return 100
        if not self.size_bytes:
            return 0
        return min(99, int(100 * self.bytes_processed / self.size_bytes))

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RowIssue(models.TextChoices):
    REJECTED = "rejected", "Rejected"
    WARNING = "warning", "Warning"


class RejectedRow(TenantModel):
    """A row of an upload that was rejected (not imported) or imported with a warning."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="row_issues")
    row_number = models.IntegerField(help_text="1 is the first row after the header.")
    kind = models.CharField(max_length=8, choices=RowIssue.choices, default=RowIssue.REJECTED)
    column = models.CharField(max_length=64, blank=True)
    value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["upload", "row_number", "id"]
        indexes = [
            models.Index(
                fields=["customer", "upload", "kind", "row_number"], name="rejected_upload_row"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RowIssue.values), name="row_issue_kind_known"
            ),
            models.CheckConstraint(condition=Q(row_number__gte=1), name="row_issue_row_positive"),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


class Claim(TenantModel):
    """One claim line. Keyed by the customer's ``claim_id`` when given, else by a hash of its
    content, so re-uploading the same rows never duplicates them."""

    # Claims are written by the import alone, with ids it resolves by joins in its own
    # transaction, and deleted only through the ORM (CASCADE / PROTECT run in Django). So the
    # foreign keys of this one hot table carry no database constraint: Django's are deferred,
    # and checking two of them per row at commit would double the time of a 1,000,000-row import.
    customer = models.ForeignKey(
        "accounts.Customer",
        on_delete=models.CASCADE,
        related_name="claim_set",
        related_query_name="claim",
        db_index=False,
        db_constraint=False,
    )
    # NULL, not "": rows without a claim_id are keyed by content_hash (partial unique indexes)
    claim_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    content_hash = models.UUIDField(null=True, blank=True)
    payer = models.ForeignKey(
        Payer,
        on_delete=models.PROTECT,
        related_name="claims",
        db_index=False,  # indexed by claim_payer_decided_cover
        db_constraint=False,
    )
    payer_key = models.CharField(max_length=200, help_text="The raw payer name, normalised.")
    cpt = models.CharField(max_length=5)
    cpt_group = models.CharField(max_length=32)
    submitted_date = models.DateField()
    decided_date = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    billed_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    allowed_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    paid_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    denial_reason_code = models.CharField(max_length=20, blank=True)
    denial_reason_text = models.CharField(max_length=300, blank=True)
    payment_date = models.DateField(null=True, blank=True)
    upload = models.ForeignKey(
        Upload,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claims",
        db_index=False,  # see Meta.indexes
        db_constraint=False,
    )

    class Meta:
        ordering = ["-submitted_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "claim_id"],
                condition=Q(claim_id__isnull=False),
                name="claim_customer_claim_id",
            ),
            models.UniqueConstraint(
                fields=["customer", "content_hash"],
                condition=Q(claim_id__isnull=True),
                name="claim_customer_content_hash",
            ),
            models.CheckConstraint(
                condition=Q(claim_id__isnull=False) | Q(content_hash__isnull=False),
                name="claim_has_a_key",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="claim_outcome_known"
            ),
            models.CheckConstraint(
                condition=Q(decided_date__isnull=True) | Q(decided_date__gte=F("submitted_date")),
                name="claim_decided_after_submitted",
            ),
            models.CheckConstraint(
                condition=Q(decided_date__isnull=False) | Q(outcome=Outcome.PENDING),
                name="claim_decided_unless_pending",
            ),
            models.CheckConstraint(
                condition=(Q(billed_amount__isnull=True) | Q(billed_amount__gte=0))
                & (Q(allowed_amount__isnull=True) | Q(allowed_amount__gte=0))
                & (Q(paid_amount__isnull=True) | Q(paid_amount__gte=0)),
                name="claim_amounts_non_negative",
            ),
        ]
        indexes = [
            # the claims table: newest first, keyset-friendly
            models.Index(
                fields=["customer", "-submitted_date", "-id"], name="claim_customer_submitted"
            ),
            # detection and payer summaries: one customer's decided claims by payer and date,
            # answered from the index alone (INCLUDE)
            models.Index(
                fields=["customer", "payer", "decided_date"],
                include=[
                    "cpt_group",
                    "outcome",
                    "submitted_date",
                    "billed_amount",
                    "allowed_amount",
                    "paid_amount",
                ],
                name="claim_payer_decided_cover",
            ),
            models.Index(fields=["customer", "cpt"], name="claim_customer_cpt"),
            # Deliberately no more: every index costs every import (PRODUCT §12 ingest target).
            # Filtering by upload or raw payer name scans one customer's rows, which is rare.
        ]

    def __str__(self) -> str:
        return self.claim_id or f"claim {self.pk}"
