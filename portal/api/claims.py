"""Claims: the customer's claim lines, read-only, filtered like the portal's table (PRODUCT §9).

Every successful read is audited (``claims.viewed``, PRODUCT §10): one event per request, with
the filters and the page, never the claims' contents.
"""

from __future__ import annotations

import json

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.response import Response

from portal.api.base import CustomerScopedMixin, FlatSerializerMixin
from portal.api.pagination import KeysetPagination, SummaryPagination
from portal.audit.actions import Action
from portal.audit.services import record
from portal.claims import selectors
from portal.claims.cpt import DEFAULT_GROUPS
from portal.claims.filters import ClaimFilter, PayerSummaryFilter
from portal.claims.models import Claim, Payer

AUDIT_VALUE_CHARS = 100


class StableOrderingFilter(OrderingFilter):
    """``?ordering=`` on the whitelisted fields, with the id as the last key: rows that tie on
    the requested field keep one order, so paging through them never repeats or skips a row."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not ordering:
            return ordering
        if not any(field.lstrip("-") in {"id", "pk"} for field in ordering):
            ordering.append("-id" if ordering[-1].startswith("-") else "id")
        return ordering

    def get_schema_operation_parameters(self, view):
        fields = ", ".join(f"`{name}`" for name in getattr(view, "ordering_fields", []) or [])
        [parameter] = super().get_schema_operation_parameters(view)
        parameter["description"] = (
            f"Sort by {fields}; `-` in front for descending, commas for several. Other fields "
            "are ignored."
        )
        return [parameter]


FILTER_BACKENDS = [DjangoFilterBackend, SearchFilter, StableOrderingFilter]


def _short(value: str) -> str:
    """At most ``AUDIT_VALUE_CHARS`` characters *as JSON* (non-ASCII grows to ``\\uXXXX``): the
    audit row's data is capped at 2 KB, and a request must never fail over its own audit line
    (nor over a NUL character: jsonb refuses it, and ``?ordering=`` lets one through)."""
    value = value.replace("\x00", "")[:AUDIT_VALUE_CHARS]
    while len(json.dumps(value)) > AUDIT_VALUE_CHARS + 2:
        value = value[: len(value) // 2]
    return value


def listing_summary(view, request) -> dict:
    """What a list request showed, for its audit event: the page, how many rows it held, and the
    filters in use (the FilterSet's, plus ``search`` and ``ordering``), each value shortened."""
    names = [*view.filterset_class.base_filters, "search", "ordering"]
    params = request.query_params
    page = getattr(getattr(view, "paginator", None), "page", None)
    return {
        "page": str(page.number if page is not None else 1),
        "rows": len(page.object_list) if page is not None else 0,
        "filters": {name: _short(params[name]) for name in names if params.get(name)},
    }


class ClaimSerializer(FlatSerializerMixin, serializers.ModelSerializer):
    payer = serializers.CharField(source="payer.name", read_only=True, help_text="Canonical name")
    payer_id = serializers.IntegerField(read_only=True)
    upload_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The upload that last wrote this claim."
    )

    class Meta:
        model = Claim
        fields = [
            "id",
            "claim_id",
            "payer",
            "payer_id",
            "cpt",
            "cpt_group",
            "submitted_date",
            "decided_date",
            "outcome",
            "billed_amount",
            "allowed_amount",
            "paid_amount",
            "denial_reason_code",
            "denial_reason_text",
            "payment_date",
            "upload_id",
        ]
        read_only_fields = fields


EXAMPLE = {
    "id": 48213,
    "claim_id": "CLM-2026-000481",
    "payer": "Blue Cross Blue Shield",
    "payer_id": 3,
    "cpt": "99213",
    "cpt_group": "E/M",
    "submitted_date": "2026-10-02",
    "decided_date": "2026-10-19",
    "outcome": "DENIED",
    "billed_amount": "180.00",
    "allowed_amount": "0.00",
    "paid_amount": "0.00",
    "denial_reason_code": "CO-97",
    "denial_reason_text": "Service included in another service",
    "payment_date": None,
    "upload_id": 17,
}

# A claim's CPT group is a default section or one of the customer's own groups: the schema names
# the defaults instead of a closed enum.
CPT_GROUP_PARAMETER = OpenApiParameter(
    "cpt_group",
    str,
    description="A CPT group, exactly: one of the default sections ("
    + ", ".join(f"`{name}`" for name in DEFAULT_GROUPS)
    + ") or one of the customer's own CPT groups (`/cpt-groups/`).",
)


# -- payer summary --------------------------------------------------------------------------------


class PayerWeekSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Monday of the week of decision")
    decided = serializers.IntegerField(help_text="Claims decided that week")
    denied = serializers.IntegerField(help_text="Of those, denied")
    denial_rate = serializers.FloatField(
        allow_null=True, help_text="denied / decided (null for a week without decisions)"
    )


class PayerSummarySerializer(serializers.Serializer):
    """One payer's claims decided in the range. ``trend`` comes from one query for the page."""

    id = serializers.IntegerField(help_text="The payer id (a claim's `payer_id`)")
    name = serializers.CharField(help_text="Canonical payer name")
    claims = serializers.IntegerField(source="claim_count", help_text="Claims decided")
    denied = serializers.IntegerField(source="denied_count", help_text="Of those, denied")
    denial_rate = serializers.FloatField(help_text="denied / claims (0–1)")
    mean_decision_days = serializers.FloatField(
        source="mean_days", help_text="Mean days from submission to decision"
    )
    median_decision_days = serializers.FloatField(
        source="median_days", help_text="Median days from submission to decision"
    )
    billed_dollars = serializers.DecimalField(
        source="billed", max_digits=16, decimal_places=2, help_text="Billed amounts (sum)"
    )
    denied_dollars = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Billed amounts of the denied claims"
    )
    open_drift_events = serializers.IntegerField(
        source="open_events",
        help_text="Drift events of the payer in the current window of the latest succeeded run",
    )
    trend = serializers.SerializerMethodField(
        help_text="Weekly denial rate over the last 12 weeks of the range (the sparkline)"
    )

    @extend_schema_field(PayerWeekSerializer(many=True))
    def get_trend(self, payer) -> list[dict]:
        weeks = self.context.get("trend_weeks", [])
        counts = self.context.get("trends", {}).get(payer.pk, [])
        return [
            {
                "week": week,
                "decided": decided,
                "denied": denied,
                "denial_rate": denied / decided if decided else None,
            }
            for week, (decided, denied) in zip(weeks, counts, strict=False)
        ]


PAYER_SUMMARY_EXAMPLE = {
    "id": 5,
    "name": "Humana",
    "claims": 1834,
    "denied": 312,
    "denial_rate": 0.1701,
    "mean_decision_days": 12.4,
    "median_decision_days": 9.0,
    "billed_dollars": "412380.55",
    "denied_dollars": "70114.20",
    "open_drift_events": 2,
    "trend": [
        {"week": "2026-09-07", "decided": 141, "denied": 16, "denial_rate": 0.1135},
        {"week": "2026-09-14", "decided": 152, "denied": 47, "denial_rate": 0.3092},
    ],
}


@extend_schema_view(
    list=extend_schema(
        summary="List claims",
        description="The customer's claim lines, newest submission first, with the portal's "
        "filters: payer (id), CPT, CPT group, outcome, submission and decision date ranges "
        "(inclusive), upload (id), and `q`/`search` (claim id starts with). `ordering` accepts "
        "the listed fields, `-` for descending. Amounts are decimal strings. Any role may read; "
        "every request is recorded in the audit log (filters and page, not the claims).",
        parameters=[
            CPT_GROUP_PARAMETER,
            OpenApiParameter("payer", int, description="A payer id (a claim's `payer_id`)"),
            OpenApiParameter("upload", int, description="An upload id: the claims it last wrote"),
        ],
        examples=[OpenApiExample("Denied claim", value=EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One claim",
        description="One claim line of the customer (recorded in the audit log).",
        examples=[OpenApiExample("Denied claim", value=EXAMPLE, response_only=True)],
    ),
    payer_summary=extend_schema(
        summary="Payer summary",
        description="One row per payer with claims **decided** in the range (by decision date: "
        "`decided_from`/`decided_until`, inclusive; the last 90 days when neither is given), "
        "optionally only one CPT group's claims (`cpt_group`): claims, denied, denial rate, "
        "mean and median days to decision, billed and denied dollars (decimal strings), open "
        "drift events (the latest succeeded run's window) and `trend`, the weekly denial rate "
        "of the last 12 weeks of the range. The same filters as the portal's *Payers* table; "
        "`q`/`search` narrow by payer name; most open events first unless `ordering` says "
        "otherwise. Paginated. Any role may read (aggregates only, not audited as claim "
        "views).",
        parameters=[CPT_GROUP_PARAMETER],
        responses=PayerSummarySerializer(many=True),
        examples=[
            OpenApiExample("Drifting payer", value=PAYER_SUMMARY_EXAMPLE, response_only=True)
        ],
    ),
)
class ClaimViewSet(
    CustomerScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ClaimSerializer
    pagination_class = KeysetPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = ClaimFilter
    search_fields = ["^claim_id"]
    # Each first key is cheap on one customer's rows: the (customer, -submitted_date, -id) index,
    # or a sort of the filtered rows.
    ordering_fields = [
        "submitted_date",
        "decided_date",
        "claim_id",
        "cpt",
        "outcome",
        "payer__name",
        "allowed_amount",
        "paid_amount",
    ]
    read_permission = "accounts.view_customer_data"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if self.action == "payer_summary":
            if getattr(self, "swagger_fake_view", False):
                return Payer.objects.none()
            return selectors.payer_summary_rows(customer=self.customer)
        if getattr(self, "swagger_fake_view", False):
            return Claim.objects.none()
        return selectors.claim_list(customer=self.customer)

    def get_object(self) -> Claim:
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (Claim.DoesNotExist, ValueError):
            raise Http404 from None

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        record(
            action=Action.CLAIMS_VIEWED,
            actor=request.user,
            customer=self.customer,
            data=listing_summary(self, request),
        )
        return response

    def retrieve(self, request, *args, **kwargs):
        claim = self.get_object()
        record(action=Action.CLAIMS_VIEWED, actor=request.user, customer=self.customer, obj=claim)
        return Response(self.get_serializer(claim).data)

    @action(
        detail=False,
        url_path="payer-summary",
        # One row per payer (tens, not millions): page numbers serve it well.
        pagination_class=SummaryPagination,
        filterset_class=PayerSummaryFilter,
        serializer_class=PayerSummarySerializer,
        search_fields=["name"],
        ordering_fields=[
            "name",
            "claim_count",
            "denial_rate",
            "mean_days",
            "median_days",
            "billed",
            "denied_dollars",
            "open_events",
        ],
    )
    def payer_summary(self, request, *args, **kwargs):
        """One statement for the page's payers, one for their trends: the same as the portal."""
        filterset = DjangoFilterBackend().get_filterset(request, self.get_queryset(), self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        queryset = filterset.qs
        for backend in (SearchFilter, StableOrderingFilter):
            queryset = backend().filter_queryset(request, queryset, self)
        page = self.paginate_queryset(queryset)
        weeks, trends = selectors.payer_weekly_denials_cached(
            customer=self.customer,
            payer_ids=[payer.pk for payer in page],
            until=filterset.range[1],
            cpt_group=filterset.group,
        )
        context = {**self.get_serializer_context(), "trend_weeks": weeks, "trends": trends}
        return self.get_paginated_response(
            PayerSummarySerializer(page, many=True, context=context).data
        )
