from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from portal.accounts import selectors, services
from portal.accounts.filters import MembershipFilter
from portal.accounts.models import Membership
from portal.accounts.roles import Role
from portal.api.base import CustomerScopedMixin


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "created_at"]
        read_only_fields = fields


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


EXAMPLE = {
    "id": 12,
    "email": "ana@acme.test",
    "full_name": "Ana Analyst",
    "role": "analyst",
    "created_at": "2026-11-20T09:30:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List members",
        description="Members of the customer with their roles. Any role may read.",
        examples=[OpenApiExample("Member", value=EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(summary="One member", description="A member of the customer."),
    create=extend_schema(
        summary="Add a member",
        description="Admins add members below owner; owners may add owners. A new e-mail "
        "address gets an invitation to choose a password.",
        request=MemberCreateSerializer,
        responses={201: MemberSerializer},
        examples=[
            OpenApiExample(
                "Add an analyst",
                value={"email": "ana@acme.test", "role": "analyst"},
                request_only=True,
            )
        ],
    ),
    partial_update=extend_schema(
        summary="Change a member's role",
        description="The last owner cannot be demoted.",
        request=MemberRoleSerializer,
        responses={200: MemberSerializer},
        examples=[OpenApiExample("Promote", value={"role": "admin"}, request_only=True)],
    ),
    destroy=extend_schema(
        summary="Remove a member",
        description="The last owner cannot be removed.",
        responses={204: None},
    ),
)
@extend_validation_errors(["conflict"], field_name="email", actions=["create"])
@extend_validation_errors(["conflict"], field_name=None, actions=["partial_update", "destroy"])
class MemberViewSet(
    CustomerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MemberSerializer
    filterset_class = MembershipFilter
    search_fields = ["user__email", "user__full_name"]
    ordering_fields = ["created_at", "role", "user__email"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    write_permission = "accounts.manage_members"
    throttle_scope = "member_changes"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return selectors.membership_list(customer=self.customer)

    def get_object(self) -> Membership:
        try:
            return selectors.membership_get(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (Membership.DoesNotExist, ValueError):
            raise Http404 from None

    def create(self, request, *args, **kwargs):
        body = MemberCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_add(
            customer=self.customer, actor=request.user, **body.validated_data
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()  # another customer's member is a 404 before anything else
        body = MemberRoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            membership=membership, role=body.validated_data["role"], actor=request.user
        )
        return Response(MemberSerializer(membership).data)

    def destroy(self, request, *args, **kwargs):
        services.membership_remove(membership=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
