"""Drift runs and drift events (PRODUCT §4, §9).

``POST /drift-runs/`` queues a run and answers 202 at once; a worker executes it after the request
commits. The answer's ``status_url`` (also the ``Location`` header) is the run itself: poll it
until ``status`` is ``succeeded`` or ``failed``.

Events are read three ways: the whole history (``/drift-events/``, page-paginated, filtered and
ordered), what is drifting now (``/drift-events/active/``: the current window of the latest
succeeded run), and a feed for polling integrations (``/drift-events/feed/``: cursor-paginated,
most recently written first, so an event that a re-run updated comes back to the top).
"""

from __future__ import annotations

from datetime import date

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
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
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from portal.api.base import CustomerScopedMixin
from portal.api.claims import CPT_GROUP_PARAMETER, FILTER_BACKENDS
from portal.api.pagination import KeysetPagination, NewestFirstCursorPagination
from portal.drift import selectors, services
from portal.drift.filters import DriftEventFilter, DriftRunFilter
from portal.drift.models import DriftEvent, DriftRun

EARLIEST_AS_OF = date(2000, 1, 1)
LABELS = ["low", "medium", "high", "critical"]  # detectors.label_of


# -- serializers ----------------------------------------------------------------------------------


class RunWindowsSerializer(serializers.Serializer):
    baseline_start = serializers.DateField(allow_null=True, help_text="Inclusive")
    baseline_end = serializers.DateField(allow_null=True, help_text="Inclusive")
    current_start = serializers.DateField(allow_null=True, help_text="Inclusive")
    current_end = serializers.DateField(allow_null=True, help_text="Inclusive")


class RunCountsSerializer(serializers.Serializer):
    segments_total = serializers.IntegerField(help_text="(payer, CPT group) and payer segments")
    segments_examined = serializers.IntegerField(help_text="Segments with the minimum volume")
    tests_run = serializers.IntegerField(help_text="Significance tests (the FDR family size)")
    events_created = serializers.IntegerField(help_text="New events")
    events_updated = serializers.IntegerField(help_text="Events of the same window re-written")


class DriftRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.EmailField(
        source="requested_by.email", read_only=True, allow_null=True
    )
    trigger = serializers.CharField(
        read_only=True,
        help_text="What started the run: `api`, `portal`/`manual`, `schedule`, `upload`, "
        "`command`.",
    )
    windows = RunWindowsSerializer(
        source="*",
        read_only=True,
        help_text="The baseline and current windows (dates), once the run has started.",
    )
    counts = RunCountsSerializer(source="*", read_only=True)
    seconds = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Run time, once finished"
    )
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = DriftRun
        fields = [
            "id",
            "status",
            "as_of",
            "trigger",
            "requested_by",
            "windows",
            "counts",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "seconds",
            "status_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, run: DriftRun) -> str:
        path = reverse("api:v1:drift-run-detail", args=[run.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class DriftRunCreateSerializer(serializers.Serializer):
    as_of = serializers.DateField(
        required=False,
        help_text="Analyse the data as of this date (default: today). Not in the future, not "
        "before 2000-01-01.",
    )

    def validate_as_of(self, value: date) -> date:
        if value > timezone.localdate():
            raise serializers.ValidationError("as_of cannot be in the future.", code="invalid")
        if value < EARLIEST_AS_OF:
            raise serializers.ValidationError(
                f"as_of cannot be before {EARLIEST_AS_OF.isoformat()}.", code="invalid"
            )
        return value


class EventWindowsSerializer(serializers.Serializer):
    baseline_start = serializers.DateField(help_text="Inclusive")
    baseline_end = serializers.DateField(help_text="Inclusive")
    current_start = serializers.DateField(help_text="Inclusive")
    current_end = serializers.DateField(help_text="Inclusive")


class DriftEventSerializer(serializers.ModelSerializer):
    payer = serializers.CharField(source="payer.name", read_only=True, help_text="Canonical name")
    payer_id = serializers.IntegerField(read_only=True)
    run_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The run that last wrote this event."
    )
    cpt_group = serializers.CharField(
        read_only=True, help_text="The CPT group, or `ALL` for the payer across all groups."
    )
    baseline_value = serializers.FloatField(read_only=True, help_text="The metric, baseline")
    current_value = serializers.FloatField(read_only=True, help_text="The metric, current")
    delta = serializers.FloatField(read_only=True, help_text="current − baseline")
    relative_delta = serializers.FloatField(
        read_only=True, allow_null=True, help_text="delta / baseline (null for a zero baseline)"
    )
    p_value = serializers.FloatField(read_only=True, min_value=0, max_value=1)
    q_value = serializers.FloatField(
        read_only=True, min_value=0, max_value=1, help_text="Benjamini–Hochberg adjusted p-value"
    )
    test = serializers.CharField(read_only=True, help_text="The significance test used")
    severity = serializers.FloatField(read_only=True, min_value=0, max_value=1)
    label = serializers.ChoiceField(choices=LABELS, read_only=True, help_text="From severity")
    revenue_impact = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        help_text="Estimated dollars over 30 days (decimal string): > 0 the provider is worse "
        "off, < 0 better off.",
    )
    reason_code = serializers.CharField(
        read_only=True, help_text="The denial reason (`new_denial_reason`), else empty"
    )
    windows = EventWindowsSerializer(source="*", read_only=True)
    details = serializers.DictField(
        read_only=True, help_text="Detector-specific figures (e.g. the CPT codes compared)."
    )

    class Meta:
        model = DriftEvent
        fields = [
            "id",
            "run_id",
            "drift_type",
            "payer",
            "payer_id",
            "cpt_group",
            "direction",
            "baseline_value",
            "current_value",
            "delta",
            "relative_delta",
            "baseline_n",
            "current_n",
            "p_value",
            "q_value",
            "test",
            "severity",
            "label",
            "revenue_impact",
            "reason_code",
            "windows",
            "details",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DriftEventFeedSerializer(DriftEventSerializer):
    """A drift event in the feed: the same fields. A class of its own, so that the feed's page
    (cursor pagination: ``next``/``previous``, no ``count``) is a schema component of its own."""


# -- examples -------------------------------------------------------------------------------------

RUN_EXAMPLE = {
    "id": 42,
    "status": "succeeded",
    "as_of": "2026-11-26",
    "trigger": "api",
    "requested_by": "ana@acme.test",
    "windows": {
        "baseline_start": "2026-08-15",
        "baseline_end": "2026-11-12",
        "current_start": "2026-11-13",
        "current_end": "2026-11-26",
    },
    "counts": {
        "segments_total": 64,
        "segments_examined": 41,
        "tests_run": 187,
        "events_created": 3,
        "events_updated": 1,
    },
    "error": "",
    "created_at": "2026-11-26T10:00:00Z",
    "started_at": "2026-11-26T10:00:01Z",
    "finished_at": "2026-11-26T10:00:02Z",
    "seconds": 0.84,
    "status_url": "https://payerwatch.example/api/v1/drift-runs/42/",
}
QUEUED_RUN_EXAMPLE = {
    **RUN_EXAMPLE,
    "status": "queued",
    "windows": dict.fromkeys(RUN_EXAMPLE["windows"]),
    "counts": dict.fromkeys(RUN_EXAMPLE["counts"], 0),
    "started_at": None,
    "finished_at": None,
    "seconds": None,
}
EVENT_EXAMPLE = {
    "id": 913,
    "run_id": 42,
    "drift_type": "denial_rate",
    "payer": "Humana",
    "payer_id": 5,
    "cpt_group": "ALL",
    "direction": "worsening",
    "baseline_value": 0.081,
    "current_value": 0.352,
    "delta": 0.271,
    "relative_delta": 3.35,
    "baseline_n": 1840,
    "current_n": 262,
    "p_value": 1.2e-31,
    "q_value": 2.2e-29,
    "test": "two-proportion z",
    "severity": 0.93,
    "label": "critical",
    "revenue_impact": "18250.40",
    "reason_code": "",
    "windows": {
        "baseline_start": "2026-08-15",
        "baseline_end": "2026-11-12",
        "current_start": "2026-11-13",
        "current_end": "2026-11-26",
    },
    "details": {},
    "created_at": "2026-11-26T10:00:02Z",
    "updated_at": "2026-11-26T10:00:02Z",
}

LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    description="The run's status URL (the same as `status_url`).",
    response=[202],
)
PAYER_PARAMETER = OpenApiParameter("payer", int, description="A payer id (an event's `payer_id`)")


# -- views ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List drift runs",
        description="The customer's drift runs, newest first: status, as-of date, trigger, "
        "windows, counts (segments, tests, events), timings and any error. Filter with "
        "`status` and `trigger`. Any role may read.",
        examples=[OpenApiExample("Finished run", value=RUN_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One drift run (its status)",
        description="The run's status (`queued` → `running` → `succeeded` / `failed`), and once "
        "it has run its windows, counts, timings and any error. Poll it after "
        "`POST /drift-runs/`.",
        examples=[OpenApiExample("Finished run", value=RUN_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Run drift detection",
        description="Queue a drift run of the customer as of `as_of` (a date, default today). "
        "The answer is **202** with the queued run, its `status_url` and a `Location` header; a "
        "worker runs it once the request is done. Runs of one customer never overlap: a second "
        "run waits for the first. Analysts and above, with a write-scoped token; runs have "
        "their own rate limit (429 with `Retry-After`).",
        request=DriftRunCreateSerializer,
        responses={202: OpenApiResponse(DriftRunSerializer, description="Accepted and queued.")},
        parameters=[LOCATION_HEADER],
        examples=[
            OpenApiExample("As of a date", value={"as_of": "2026-11-26"}, request_only=True),
            OpenApiExample("Queued", value=QUEUED_RUN_EXAMPLE, response_only=True),
        ],
    ),
)
class DriftRunViewSet(
    CustomerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DriftRunSerializer
    pagination_class = KeysetPagination
    parser_classes = [JSONParser]
    filter_backends = FILTER_BACKENDS
    filterset_class = DriftRunFilter
    ordering_fields = ["created_at", "as_of", "finished_at"]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.run_detection"
    throttle_scope = "drift_runs"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DriftRun.objects.none()
        return selectors.drift_run_list(customer=self.customer)

    def get_object(self) -> DriftRun:
        try:
            return selectors.drift_run_get(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (DriftRun.DoesNotExist, ValueError):
            raise Http404 from None

    def create(self, request, *args, **kwargs):
        body = DriftRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.run_request(
            customer=self.customer,
            actor=request.user,
            trigger="api",
            as_of=body.validated_data.get("as_of"),
        )
        # read it back: with an inline task queue the run has already been executed
        run = selectors.drift_run_get(customer=self.customer, pk=run.pk)
        data = self.get_serializer(run).data
        return Response(
            data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["status_url"]}
        )


class FeedCursorPagination(NewestFirstCursorPagination):
    """Most recently written first: an event updated by a re-run comes back to the top."""

    ordering = ("-updated_at", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="List drift events",
        description="Every drift event of the customer, most recent window and most severe "
        "first: drift type, payer, CPT group (`ALL` = the payer across groups), direction, "
        "baseline and current values, delta, sample sizes, p- and q-value, test, severity and "
        "label, revenue impact (decimal string), windows and the run that wrote it. Filters: "
        "payer (id), drift type, CPT group, direction, label, minimum severity, window end "
        "range; `search` in the payer name and reason code; `ordering` by `severity`, "
        "`revenue_impact` or `current_end`. Any role may read.",
        parameters=[CPT_GROUP_PARAMETER, PAYER_PARAMETER],
        examples=[OpenApiExample("Denial-rate drift", value=EVENT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One drift event",
        description="One drift event of the customer, with its detector's details.",
        examples=[OpenApiExample("Denial-rate drift", value=EVENT_EXAMPLE, response_only=True)],
    ),
    active=extend_schema(
        summary="Active drift events",
        description="What is drifting now: the events of the current window of the customer's "
        "latest succeeded run (empty before a first run), most severe first unless `ordering` "
        "says otherwise. Paginated and filtered like the list. Any role may read.",
        parameters=[CPT_GROUP_PARAMETER, PAYER_PARAMETER],
        responses=DriftEventSerializer(many=True),
        examples=[OpenApiExample("Denial-rate drift", value=EVENT_EXAMPLE, response_only=True)],
    ),
    feed=extend_schema(
        summary="Drift event feed (for polling)",
        description="Every event of the customer, the most recently written first (a re-run "
        "that updates an event brings it back to the top), with cursor pagination: follow "
        "`next` page by page; keep the first page's `previous` link to ask later for only what "
        "changed since. The cursor is stable while events are written, so pages neither repeat "
        "nor skip rows. Filtered like the list (no `ordering`). An invalid cursor is a 404. Any "
        "role may read.",
        parameters=[CPT_GROUP_PARAMETER, PAYER_PARAMETER],
        responses=DriftEventFeedSerializer(many=True),
        examples=[OpenApiExample("Denial-rate drift", value=EVENT_EXAMPLE, response_only=True)],
    ),
)
class DriftEventViewSet(
    CustomerScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = DriftEventSerializer
    pagination_class = KeysetPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = DriftEventFilter
    search_fields = ["payer__name", "reason_code"]
    ordering_fields = ["severity", "revenue_impact", "current_end"]
    read_permission = "accounts.view_customer_data"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DriftEvent.objects.none()
        if self.action == "active":
            return selectors.active_events(customer=self.customer)
        return selectors.drift_event_list(customer=self.customer)

    def get_object(self) -> DriftEvent:
        try:
            return selectors.drift_event_get(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (DriftEvent.DoesNotExist, ValueError):
            raise Http404 from None

    def _page(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @action(detail=False)
    def active(self, request):
        return self._page(request)

    @action(
        detail=False,
        pagination_class=FeedCursorPagination,
        serializer_class=DriftEventFeedSerializer,
        filter_backends=[DjangoFilterBackend],  # the cursor's order, not ``ordering``
        search_fields=None,
    )
    def feed(self, request):
        return self._page(request)
