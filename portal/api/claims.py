"""Claims: the customer's claim lines, read-only, filtered like the portal's table (PRODUCT §9).

Every successful read is audited (``claims.viewed``, PRODUCT §10): one event per request, with
the filters and the page, never the claims' contents.
"""

from __future__ import annotations

import json

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.response import Response

from portal.api.base import CustomerScopedMixin
from portal.api.pagination import KeysetPagination
from portal.audit.actions import Action
from portal.audit.services import record
from portal.claims import selectors
from portal.claims.cpt import DEFAULT_GROUPS
from portal.claims.filters import ClaimFilter
from portal.claims.models import Claim

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


class ClaimSerializer(serializers.ModelSerializer):
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
