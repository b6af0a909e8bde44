from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from portal.api.base import CustomerScopedMixin, FlatSerializerMixin
from portal.api.pagination import KeysetPagination
from portal.audit.filters import AuditEventFilter
from portal.audit.models import AuditEvent
from portal.audit.selectors import audit_events_for_customer


class AuditEventSerializer(FlatSerializerMixin, serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    actor = serializers.EmailField(source="actor_email", read_only=True, allow_blank=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "customer",
            "actor",
            "action",
            "outcome",
            "object_type",
            "object_id",
            "ip",
            "user_agent",
            "request_id",
            "data",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="List audit events",
        description="The customer's append-only audit log, newest first, with its members' "
        "sign-ins. Admins and owners only.",
        examples=[
            OpenApiExample(
                "Role change",
                value={
                    "id": 41,
                    "created_at": "2026-11-26T10:00:00Z",
                    "customer": "acme",
                    "actor": "alice@acme.test",
                    "action": "membership.role_changed",
                    "outcome": "success",
                    "object_type": "accounts.membership",
                    "object_id": "12",
                    "ip": "203.0.113.9",
                    "user_agent": "Mozilla/5.0",
                    "request_id": "5f0c1d0e9a8b4c7d",
                    "data": {"member": "ana@acme.test", "from": "analyst", "to": "admin"},
                },
                response_only=True,
            )
        ],
    ),
    retrieve=extend_schema(summary="One audit event", description="One event of the audit log."),
)
class AuditEventViewSet(
    CustomerScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = AuditEventSerializer
    pagination_class = KeysetPagination
    filterset_class = AuditEventFilter
    search_fields = ["actor_email", "object_id", "request_id"]
    ordering_fields = ["created_at", "action"]
    read_permission = "accounts.view_audit_log"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        return audit_events_for_customer(customer=self.customer)
