"""Reports (PRODUCT §7, §9): list, trigger, follow, download.

``POST /reports/`` queues a report and answers 202 at once; a worker generates it after the
request commits. The answer's ``status_url`` (also the ``Location`` header) is the report itself:
poll it until ``status`` is ``succeeded`` (its ``files`` then list a ``download_url`` per format)
or ``failed``. ``GET /reports/{id}/download/{file_format}/`` answers with the file's bytes; every
download is recorded in the audit log.
"""

from __future__ import annotations

from datetime import date

from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from portal.api.base import CustomerScopedMixin
from portal.api.claims import FILTER_BACKENDS
from portal.reports import selectors, services
from portal.reports.filters import ReportFilter
from portal.reports.models import (
    CONTENT_TYPES,
    Report,
    ReportFile,
    ReportFormat,
    ReportKind,
    ReportTrigger,
)

EARLIEST_PERIOD_END = date(2000, 1, 1)


# -- serializers ----------------------------------------------------------------------------------


def _absolute(serializer: serializers.Serializer, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class ReportFileSerializer(serializers.ModelSerializer):
    format = serializers.ChoiceField(choices=ReportFormat.choices, read_only=True)
    file_name = serializers.CharField(read_only=True, help_text="The name it downloads under")
    size_bytes = serializers.IntegerField(read_only=True)
    sha256 = serializers.CharField(read_only=True, help_text="SHA-256 of the file, hex")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportFile
        fields = ["format", "file_name", "size_bytes", "sha256", "download_url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, stored: ReportFile) -> str:
        path = reverse("api:v1:report-download", args=[stored.report_id, stored.format])
        return _absolute(self, path)


class ReportProgressSerializer(serializers.Serializer):
    rows_done = serializers.IntegerField(help_text="Rows written so far")
    rows_total = serializers.IntegerField(help_text="Rows to write (known once running)")
    percent = serializers.IntegerField(source="progress_percent", min_value=0, max_value=100)


class ReportSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ReportKind.choices, read_only=True)
    trigger = serializers.ChoiceField(
        choices=ReportTrigger.choices,
        read_only=True,
        help_text="What asked for it: `api`, `portal`, `schedule` (weekly) or `demo`.",
    )
    requested_by = serializers.EmailField(
        source="requested_by.email", read_only=True, allow_null=True
    )
    filters = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The table filters an export was made with (empty for the weekly summary).",
    )
    period_start = serializers.DateField(
        read_only=True, allow_null=True, help_text="Weekly summary: first day (inclusive)"
    )
    period_end = serializers.DateField(
        read_only=True, allow_null=True, help_text="Weekly summary: last day (inclusive)"
    )
    progress = ReportProgressSerializer(source="*", read_only=True)
    row_count = serializers.IntegerField(
        read_only=True, help_text="Rows in the generated table, once finished"
    )
    files = ReportFileSerializer(
        many=True, read_only=True, help_text="One per format, once succeeded."
    )
    seconds = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Generation time, once finished"
    )
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "kind",
            "status",
            "trigger",
            "requested_by",
            "filters",
            "period_start",
            "period_end",
            "progress",
            "row_count",
            "error",
            "files",
            "created_at",
            "started_at",
            "finished_at",
            "seconds",
            "status_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, report: Report) -> str:
        return _absolute(self, reverse("api:v1:report-detail", args=[report.pk]))


class ReportCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=ReportKind.choices,
        help_text="`weekly_summary` (PDF, CSV, XLSX), or an export of a table as filtered "
        "(CSV, XLSX): `claims_export`, `drift_events_export`, `alerts_export`.",
    )
    # Values are checked by the table's FilterSet in the service (errors name ``filters``).
    filters = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        help_text="Exports: the table's filters, named as in its list endpoint (e.g. "
        '`{"payer": "5", "outcome": "DENIED"}` for claims). Unknown names are refused.',
    )
    period_end = serializers.DateField(
        required=False,
        help_text="Weekly summary: the last day of the seven it covers (default today).",
    )

    def validate_period_end(self, value: date) -> date:
        if value > timezone.localdate():
            raise serializers.ValidationError("period_end cannot be in the future.", code="invalid")
        if value < EARLIEST_PERIOD_END:
            raise serializers.ValidationError(
                f"period_end cannot be before {EARLIEST_PERIOD_END.isoformat()}.", code="invalid"
            )
        return value


class IgnoreAcceptHeader(DefaultContentNegotiation):
    """Downloads answer with the file whatever the ``Accept`` header says; errors stay JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# -- examples -------------------------------------------------------------------------------------

REPORT_EXAMPLE = {
    "id": 7,
    "kind": "weekly_summary",
    "status": "succeeded",
    "trigger": "api",
    "requested_by": "ana@acme.test",
    "filters": {},
    "period_start": "2026-11-20",
    "period_end": "2026-11-26",
    "progress": {"rows_done": 4, "rows_total": 4, "percent": 100},
    "row_count": 4,
    "error": "",
    "files": [
        {
            "format": fmt,
            "file_name": f"weekly-summary-acme-2026-11-26.{fmt}",
            "size_bytes": size,
            "sha256": "9f2c1b0e4d6a8f3e2b7c5a1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f",
            "download_url": f"https://payerwatch.example/api/v1/reports/7/download/{fmt}/",
        }
        for fmt, size in (("pdf", 31877), ("csv", 912), ("xlsx", 5312))
    ],
    "created_at": "2026-11-26T10:00:00Z",
    "started_at": "2026-11-26T10:00:01Z",
    "finished_at": "2026-11-26T10:00:02Z",
    "seconds": 0.61,
    "status_url": "https://payerwatch.example/api/v1/reports/7/",
}
QUEUED_EXPORT_EXAMPLE = {
    **REPORT_EXAMPLE,
    "id": 8,
    "kind": "claims_export",
    "status": "queued",
    "filters": {"payer": "5", "outcome": "DENIED"},
    "period_start": None,
    "period_end": None,
    "progress": {"rows_done": 0, "rows_total": 0, "percent": 0},
    "row_count": 0,
    "files": [],
    "started_at": None,
    "finished_at": None,
    "seconds": None,
    "status_url": "https://payerwatch.example/api/v1/reports/8/",
}

LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    description="The report's status URL (the same as `status_url`).",
    response=[202],
)
FORMAT_PARAMETER = OpenApiParameter(
    "file_format",
    str,
    location=OpenApiParameter.PATH,
    enum=ReportFormat.values,
    description="`pdf` (weekly summary only), `csv` or `xlsx`.",
)
BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")


# -- views ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List reports",
        description="The customer's reports, newest first: kind, status and progress, who or "
        "what asked for it, the filters or period, row count and the generated files with "
        "their download URLs. Filter with `kind`, `status` and `trigger`. Any role may read.",
        examples=[OpenApiExample("Weekly summary", value=REPORT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One report (its status)",
        description="The report's status (`queued` → `running` → `succeeded` / `failed`), its "
        "progress while it runs, and once finished its row count, files and any error. Poll it "
        "after `POST /reports/`.",
        examples=[OpenApiExample("Weekly summary", value=REPORT_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Generate a report",
        description="Queue the weekly drift summary (`period_end`, default today) or an export "
        "of the claims, drift-event or alert table with its `filters`. The answer is **202** "
        "with the queued report, its `status_url` and a `Location` header; a worker generates "
        "it once the request is done. Analysts and above, with a write-scoped token; on-demand "
        "reports have their own rate limit per customer (429 with `Retry-After`).",
        request=ReportCreateSerializer,
        responses={202: OpenApiResponse(ReportSerializer, description="Accepted and queued.")},
        parameters=[LOCATION_HEADER],
        examples=[
            OpenApiExample(
                "Weekly summary",
                value={"kind": "weekly_summary", "period_end": "2026-11-26"},
                request_only=True,
            ),
            OpenApiExample(
                "Denied claims of a payer",
                value={"kind": "claims_export", "filters": {"payer": "5", "outcome": "DENIED"}},
                request_only=True,
            ),
            OpenApiExample("Queued", value=QUEUED_EXPORT_EXAMPLE, response_only=True),
        ],
    ),
    download=extend_schema(
        summary="Download a report file",
        description="The generated file of one format, as an attachment: `application/pdf`, "
        "`text/csv` (UTF-8) or the XLSX media type. 404 while the report is not finished, or "
        "for a format its kind does not produce (`pdf` is the weekly summary's). Any role may "
        "download; every download is recorded in the audit log.",
        parameters=[FORMAT_PARAMETER],
        responses={(200, CONTENT_TYPES[fmt].split(";")[0]): BINARY for fmt in ReportFormat.values},
    ),
)
@extend_validation_errors(["invalid"], field_name="filters", actions=["create"])
class ReportViewSet(
    CustomerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ReportSerializer
    parser_classes = [JSONParser]
    filter_backends = FILTER_BACKENDS
    filterset_class = ReportFilter
    ordering_fields = ["created_at", "finished_at", "row_count"]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.generate_reports"
    throttle_scope = "reports"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        return selectors.report_list(customer=self.customer)

    def get_object(self) -> Report:
        try:
            return selectors.report_get(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (Report.DoesNotExist, ValueError):
            raise Http404 from None

    def create(self, request, *args, **kwargs):
        body = ReportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            report = services.report_request(
                customer=self.customer,
                actor=request.user,
                kind=body.validated_data["kind"],
                filters=body.validated_data.get("filters") or {},
                trigger=ReportTrigger.API,
                period_end=body.validated_data.get("period_end"),
            )
        except services.TooManyReports as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=exc.message) from None
        # read it back: with an inline task queue the report has already been generated
        report = selectors.report_get(customer=self.customer, pk=report.pk)
        data = self.get_serializer(report).data
        return Response(
            data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["status_url"]}
        )

    @action(
        detail=True,
        url_path=r"download/(?P<file_format>pdf|csv|xlsx)",
        content_negotiation_class=IgnoreAcceptHeader,
        filter_backends=[],
        pagination_class=None,
    )
    def download(self, request, pk=None, file_format=None):
        report = self.get_object()
        try:
            stored = services.report_download(report=report, format=file_format, actor=request.user)
        except ReportFile.DoesNotExist:
            raise Http404("This report has no such file (yet).") from None
        return FileResponse(
            stored.file.open("rb"),
            as_attachment=True,
            filename=stored.file_name,
            content_type=stored.content_type,
        )
