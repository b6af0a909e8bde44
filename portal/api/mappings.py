"""Payer aliases and CPT group overrides: the customer's normalisation tables (PRODUCT §3.2).

Any role reads them; analysts and above change them, through the same services as the portal,
which re-normalise the existing claims in the background after every change.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from portal.api.base import CustomerScopedMixin
from portal.api.claims import FILTER_BACKENDS
from portal.claims import selectors, services
from portal.claims.cpt import default_group
from portal.claims.filters import CptGroupOverrideFilter, PayerAliasFilter
from portal.claims.models import CptGroupOverride, PayerAlias

WRITE_ACTIONS = ["create", "partial_update"]


class MappingViewSet(
    CustomerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """List/retrieve for every role; create, partial update and delete with ``edit_mappings``."""

    model: type
    filter_backends = FILTER_BACKENDS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.edit_mappings"
    lookup_value_regex = r"\d+"

    # the selectors, as staticmethod(fn): ``select(customer=)`` and ``get(customer=, pk=)``
    select: staticmethod
    get_one: staticmethod

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.select(customer=self.customer)

    def get_object(self):
        try:
            return self.get_one(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (self.model.DoesNotExist, ValueError):
            raise Http404 from None


# -- payer aliases --------------------------------------------------------------------------------


class PayerAliasSerializer(serializers.ModelSerializer):
    payer_name = serializers.CharField(
        source="payer.name", read_only=True, help_text="The canonical payer the raw name means"
    )
    payer_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = PayerAlias
        fields = ["id", "raw_name", "payer_name", "payer_id", "created_at", "updated_at"]
        read_only_fields = fields


class PayerAliasWriteSerializer(serializers.Serializer):
    raw_name = serializers.CharField(
        max_length=200, help_text="The payer name as it appears in your files (any case)"
    )
    payer_name = serializers.CharField(
        max_length=200, help_text="The payer it stands for; created if it does not exist yet"
    )


class PayerAliasPatchSerializer(PayerAliasWriteSerializer):
    raw_name = serializers.CharField(max_length=200, required=False)
    payer_name = serializers.CharField(max_length=200, required=False)


ALIAS_EXAMPLE = {
    "id": 5,
    "raw_name": "BCBS TX",
    "payer_name": "Blue Cross Blue Shield",
    "payer_id": 3,
    "created_at": "2026-11-20T09:30:00Z",
    "updated_at": "2026-11-20T09:30:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List payer aliases",
        description="Raw payer names that mean another payer (matched case-insensitively, "
        "whitespace collapsed). `q`/`search` look in the raw and the payer name. Any role.",
        examples=[OpenApiExample("Alias", value=ALIAS_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(summary="One payer alias", description="One alias of the customer."),
    create=extend_schema(
        summary="Add a payer alias",
        description="Map a raw payer name to a canonical payer (created if new). Existing claims "
        "with that raw name move to the payer in the background. A raw name has one alias at "
        "most (`conflict`). Analysts and above.",
        request=PayerAliasWriteSerializer,
        responses={201: PayerAliasSerializer},
        examples=[
            OpenApiExample(
                "Alias",
                value={"raw_name": "BCBS TX", "payer_name": "Blue Cross Blue Shield"},
                request_only=True,
            ),
            OpenApiExample("Created", value=ALIAS_EXAMPLE, response_only=True, status_codes=[201]),
        ],
    ),
    partial_update=extend_schema(
        summary="Change a payer alias",
        description="Change the raw name, the payer, or both; claims follow in the background.",
        request=PayerAliasPatchSerializer,
        responses={200: PayerAliasSerializer},
        examples=[
            OpenApiExample("Point elsewhere", value={"payer_name": "Anthem"}, request_only=True)
        ],
    ),
    destroy=extend_schema(
        summary="Delete a payer alias",
        description="Claims with that raw name get a payer of their own again (background).",
        responses={204: None},
    ),
)
@extend_validation_errors(["conflict"], field_name="raw_name", actions=WRITE_ACTIONS)
class PayerAliasViewSet(MappingViewSet):
    model = PayerAlias
    select = staticmethod(selectors.payer_alias_list)
    get_one = staticmethod(selectors.payer_alias_get)
    serializer_class = PayerAliasSerializer
    filterset_class = PayerAliasFilter
    search_fields = ["raw_name", "payer__name"]
    ordering_fields = ["raw_name", "payer__name", "created_at", "updated_at"]

    def create(self, request, *args, **kwargs):
        body = PayerAliasWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alias = services.payer_alias_save(
            customer=self.customer, actor=request.user, **body.validated_data
        )
        return Response(PayerAliasSerializer(alias).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        alias = self.get_object()
        body = PayerAliasPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alias = services.payer_alias_save(
            customer=self.customer,
            raw_name=body.validated_data.get("raw_name", alias.raw_name),
            payer_name=body.validated_data.get("payer_name", alias.payer.name),
            actor=request.user,
            alias=alias,
        )
        return Response(PayerAliasSerializer(alias).data)

    def destroy(self, request, *args, **kwargs):
        services.payer_alias_delete(alias=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- CPT groups -----------------------------------------------------------------------------------


class CptGroupSerializer(serializers.ModelSerializer):
    default_group = serializers.SerializerMethodField(
        help_text="The group the code would have without this override"
    )

    class Meta:
        model = CptGroupOverride
        fields = ["id", "cpt", "group", "default_group", "created_at", "updated_at"]
        read_only_fields = fields

    def get_default_group(self, override: CptGroupOverride) -> str:
        return default_group(override.cpt)


class CptGroupWriteSerializer(serializers.Serializer):
    cpt = serializers.CharField(
        max_length=16, help_text="A CPT (99213, 0001U, 1234F) or HCPCS Level II (J1100) code"
    )
    group = serializers.CharField(max_length=32, help_text="The group claims with it belong to")


class CptGroupPatchSerializer(CptGroupWriteSerializer):
    cpt = serializers.CharField(max_length=16, required=False)
    group = serializers.CharField(max_length=32, required=False)


CPT_EXAMPLE = {
    "id": 2,
    "cpt": "G0439",
    "group": "Annual wellness",
    "default_group": "HCPCS",
    "created_at": "2026-11-20T09:30:00Z",
    "updated_at": "2026-11-20T09:30:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List CPT groups",
        description="The customer's own CPT groups: codes whose group overrides the default "
        "section (PRODUCT §3.2). `q`/`search` look in the code and the group. Any role.",
        examples=[OpenApiExample("Override", value=CPT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(summary="One CPT group", description="One override of the customer."),
    create=extend_schema(
        summary="Give a CPT code its own group",
        description="Claims with that code are re-grouped in the background. A code has one "
        "override at most (`conflict`). Analysts and above.",
        request=CptGroupWriteSerializer,
        responses={201: CptGroupSerializer},
        examples=[
            OpenApiExample(
                "Override", value={"cpt": "G0439", "group": "Annual wellness"}, request_only=True
            ),
            OpenApiExample("Created", value=CPT_EXAMPLE, response_only=True, status_codes=[201]),
        ],
    ),
    partial_update=extend_schema(
        summary="Change a CPT group",
        description="Change the code, the group, or both; claims follow in the background.",
        request=CptGroupPatchSerializer,
        responses={200: CptGroupSerializer},
        examples=[OpenApiExample("Rename", value={"group": "Wellness"}, request_only=True)],
    ),
    destroy=extend_schema(
        summary="Delete a CPT group",
        description="Claims with that code go back to its default section (background).",
        responses={204: None},
    ),
)
@extend_validation_errors(["conflict"], field_name="cpt", actions=WRITE_ACTIONS)
class CptGroupViewSet(MappingViewSet):
    model = CptGroupOverride
    select = staticmethod(selectors.cpt_group_list)
    get_one = staticmethod(selectors.cpt_group_get)
    serializer_class = CptGroupSerializer
    filterset_class = CptGroupOverrideFilter
    search_fields = ["cpt", "group"]
    ordering_fields = ["cpt", "group", "created_at", "updated_at"]

    def create(self, request, *args, **kwargs):
        body = CptGroupWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        override = services.cpt_group_save(
            customer=self.customer, actor=request.user, **body.validated_data
        )
        return Response(CptGroupSerializer(override).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        override = self.get_object()
        body = CptGroupPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        override = services.cpt_group_save(
            customer=self.customer,
            cpt=body.validated_data.get("cpt", override.cpt),
            group=body.validated_data.get("group", override.group),
            actor=request.user,
            override=override,
        )
        return Response(CptGroupSerializer(override).data)

    def destroy(self, request, *args, **kwargs):
        services.cpt_group_delete(override=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
