"""Uploads: send a claims file, follow its import, read its rejected rows (PRODUCT §3.1, §9).

``POST`` stores the file and answers 202 at once; a worker imports it. The answer's
``status_url`` (also the ``Location`` header) is the upload itself: poll it until ``status`` is
``succeeded``, ``partially_succeeded`` or ``failed``.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from portal.api.base import CustomerScopedMixin
from portal.api.claims import FILTER_BACKENDS, listing_summary
from portal.api.pagination import KeysetPagination
from portal.audit.actions import Action
from portal.audit.services import record
from portal.claims import selectors, services
from portal.claims.filters import RejectedRowFilter, UploadFilter
from portal.claims.models import RejectedRow, Upload


class UploadCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(source="rows_total", help_text="Data rows in the file")
    inserted = serializers.IntegerField(help_text="New claims")
    updated = serializers.IntegerField(help_text="Existing claims (same claim_id) that changed")
    unchanged = serializers.IntegerField(help_text="Rows that were already there as they are")
    rejected = serializers.IntegerField(help_text="Rows not imported; see rejected-rows")
    warnings = serializers.IntegerField(help_text="Rows imported with a warning")


class UploadSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.EmailField(
        source="uploaded_by.email", read_only=True, allow_null=True
    )
    progress_percent = serializers.IntegerField(read_only=True, min_value=0, max_value=100)
    counts = UploadCountsSerializer(source="*", read_only=True)
    ignored_columns = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Columns of the file outside the contract: ignored and never stored.",
    )
    phi_columns = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Those of the ignored columns that look like protected health information.",
    )
    seconds = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Import time, once finished"
    )
    status_url = serializers.SerializerMethodField()
    rejected_rows_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id",
            "file_name",
            "source",
            "status",
            "error",
            "size_bytes",
            "sha256",
            "uploaded_by",
            "progress_percent",
            "rows_processed",
            "counts",
            "ignored_columns",
            "phi_columns",
            "created_at",
            "started_at",
            "finished_at",
            "seconds",
            "status_url",
            "rejected_rows_url",
        ]
        read_only_fields = fields

    def _url(self, name: str, upload: Upload) -> str:
        path = reverse(f"api:v1:{name}", args=[upload.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, upload: Upload) -> str:
        return self._url("upload-detail", upload)

    @extend_schema_field(OpenApiTypes.URI)
    def get_rejected_rows_url(self, upload: Upload) -> str:
        return self._url("upload-rejected-rows", upload)


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A claims CSV (UTF-8, comma-separated, header row), or the same as .csv.gz. "
        "At most 2 GB."
    )


class RejectedRowSerializer(serializers.ModelSerializer):
    row = serializers.IntegerField(
        source="row_number", read_only=True, help_text="1 is the first row after the header"
    )

    class Meta:
        model = RejectedRow
        fields = ["id", "row", "kind", "column", "value", "reason"]
        read_only_fields = fields


EXAMPLE = {
    "id": 17,
    "file_name": "claims-2026-11.csv",
    "source": "api",
    "status": "partially_succeeded",
    "error": "",
    "size_bytes": 1048576,
    "sha256": "9f2c1b0e4d6a8f3e2b7c5a1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f",
    "uploaded_by": "ana@acme.test",
    "progress_percent": 100,
    "rows_processed": 10000,
    "counts": {
        "total": 10000,
        "inserted": 9120,
        "updated": 850,
        "unchanged": 0,
        "rejected": 30,
        "warnings": 4,
    },
    "ignored_columns": ["patient_name", "notes"],
    "phi_columns": ["patient_name"],
    "created_at": "2026-11-26T10:00:00Z",
    "started_at": "2026-11-26T10:00:01Z",
    "finished_at": "2026-11-26T10:00:03Z",
    "seconds": 2.1,
    "status_url": "https://payerwatch.example/api/v1/uploads/17/",
    "rejected_rows_url": "https://payerwatch.example/api/v1/uploads/17/rejected-rows/",
}
QUEUED_EXAMPLE = {
    **EXAMPLE,
    "status": "queued",
    "size_bytes": 1048576,
    "sha256": "",
    "progress_percent": 0,
    "rows_processed": 0,
    "counts": dict.fromkeys(EXAMPLE["counts"], 0),
    "ignored_columns": [],
    "phi_columns": [],
    "started_at": None,
    "finished_at": None,
    "seconds": None,
}
REJECTED_ROW_EXAMPLE = {
    "id": 301,
    "row": 42,
    "kind": "rejected",
    "column": "decided_date",
    "value": "2026-09-01",
    "reason": "decided_date is before submitted_date.",
}

LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    description="The upload's status URL (the same as `status_url`).",
    response=[202],
)


@extend_schema_view(
    list=extend_schema(
        summary="List uploads",
        description="The customer's claims uploads, newest first, with their status and counts. "
        "Any role may read.",
        examples=[OpenApiExample("Finished upload", value=EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One upload (its status)",
        description="The upload's status (`queued` → `processing` → `succeeded` / "
        "`partially_succeeded` / `failed`), progress while it runs, and once finished its "
        "counts, timings, size, sha256, ignored (and PHI-looking) columns and any error. Poll it "
        "after `POST /uploads/`.",
        examples=[OpenApiExample("Finished upload", value=EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Upload claims",
        description="Send one claims file as `multipart/form-data` (field `file`). The file is "
        "stored and queued; the answer is **202** with the queued upload, its `status_url` and a "
        "`Location` header. Rows that break a rule are rejected one by one (see "
        "`rejected-rows`); an unusable file fails as a whole with an `error`. Re-sending the same "
        "file changes nothing. Analysts and above, with a write-scoped token; uploads have their "
        "own rate limit (429 with `Retry-After`).",
        request=UploadCreateSerializer,  # multipart/form-data: the only parser
        responses={
            202: OpenApiResponse(UploadSerializer, description="Accepted and queued."),
        },
        parameters=[LOCATION_HEADER],
        examples=[OpenApiExample("Queued", value=QUEUED_EXAMPLE, response_only=True)],
    ),
    rejected_rows=extend_schema(
        summary="Rejected rows of an upload",
        description="The rows of the upload that were rejected (not imported) or imported with "
        "a warning, in file order: row number, column, value and reason. Filter with `kind` "
        "(`rejected` or `warning`) and `column`. Any role may read; recorded in the audit log.",
        responses=RejectedRowSerializer(many=True),
        examples=[OpenApiExample("Rejected row", value=REJECTED_ROW_EXAMPLE, response_only=True)],
    ),
)
class UploadViewSet(
    CustomerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = UploadSerializer
    pagination_class = KeysetPagination
    parser_classes = [MultiPartParser]
    filter_backends = FILTER_BACKENDS
    filterset_class = UploadFilter
    search_fields = ["file_name"]
    ordering_fields = ["created_at", "file_name", "status", "rows_total", "size_bytes"]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.upload_claims"
    throttle_scope = "uploads"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: the model of the rows
            return (RejectedRow if self.action == "rejected_rows" else Upload).objects.none()
        return selectors.upload_list(customer=self.customer)

    def get_object(self) -> Upload:
        try:
            return selectors.upload_get(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (Upload.DoesNotExist, ValueError):
            raise Http404 from None

    def create(self, request, *args, **kwargs):
        body = UploadCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = services.upload_create(
            customer=self.customer,
            file=body.validated_data["file"],
            actor=request.user,
            source="api",
        )
        # read it back: with an inline task queue the import has already run
        upload = selectors.upload_get(customer=self.customer, pk=upload.pk)
        data = self.get_serializer(upload).data
        return Response(
            data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["status_url"]}
        )

    @action(
        detail=True,
        url_path="rejected-rows",
        serializer_class=RejectedRowSerializer,
        filterset_class=RejectedRowFilter,
        search_fields=["reason", "value"],
        ordering_fields=["row_number", "kind", "column"],
    )
    def rejected_rows(self, request, pk=None):
        upload = self.get_object()
        page = self.paginate_queryset(self.filter_queryset(selectors.rejected_rows(upload=upload)))
        record(
            action=Action.REJECTED_ROWS_VIEWED,
            actor=request.user,
            customer=self.customer,
            obj=upload,
            data=listing_summary(self, request),
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
