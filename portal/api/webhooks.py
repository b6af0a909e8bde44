"""Webhook endpoints and their messages (PRODUCT §6, §9).

Endpoints are managed by admins (``manage_webhooks``); every role reads them. The signing secret
is in the answer to ``POST /webhook-endpoints/`` and ``POST …/{id}/rotate-secret/`` only. Messages
are read per endpoint (``…/{id}/messages/``) or across endpoints (``/webhook-messages/``), each
with its delivery attempts; a dead (or delivered) message can be replayed with the same
``webhook-id``.
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from portal.api.base import CustomerScopedMixin
from portal.api.claims import FILTER_BACKENDS
from portal.api.pagination import PagePagination
from portal.webhooks import selectors, services
from portal.webhooks.filters import WebhookEndpointFilter, WebhookMessageFilter
from portal.webhooks.models import (
    EventType,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)

# -- serializers ----------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        help_text="The event types sent to it; empty = every event type.",
    )
    enabled = serializers.BooleanField(help_text="Disabled endpoints get nothing; messages wait.")
    disabled_reason = serializers.CharField(help_text="Why it was disabled (empty if enabled).")
    failing_since = serializers.DateTimeField(
        allow_null=True,
        help_text="The first failed attempt since the last success; 24 h of failures disable it.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "name", "url", "event_types", "enabled", "disabled_reason", "disabled_at",
            "failing_since", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (`whsec_…`): shown in this answer only."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="Unique per customer (any case).")
    url = serializers.CharField(
        max_length=2000, help_text="http:// or https://, a public address, no credentials."
    )
    event_types = serializers.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        help_text="Empty or absent: every event type.",
    )

    def validate_event_types(self, value) -> list[str]:
        return [t for t in EventType.values if t in value]  # a set: back to a stable order

    enabled = serializers.BooleanField(
        required=False, help_text="false disables it (messages wait); true enables it again."
    )


class WebhookEndpointPatchSerializer(WebhookEndpointWriteSerializer):
    name = serializers.CharField(max_length=100, required=False)
    url = serializers.CharField(max_length=2000, required=False)


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret: shown in this answer only.")
    previous_valid_until = serializers.DateTimeField(
        help_text="Until then messages carry signatures with the old and the new secret."
    )


class WebhookMessageSerializer(serializers.ModelSerializer):
    endpoint_id = serializers.IntegerField(read_only=True)
    webhook_id = serializers.CharField(
        read_only=True, help_text="The `webhook-id` header: the same on every attempt and replay."
    )
    attempts = serializers.IntegerField(read_only=True, help_text="Attempts made so far")
    last_status_code = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="HTTP status of the last attempt"
    )
    next_attempt_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it is next tried (pending only)"
    )

    class Meta:
        model = WebhookMessage
        fields = [
            "id", "webhook_id", "endpoint_id", "event_type", "status", "attempts",
            "last_status_code", "last_error", "next_attempt_at", "last_attempt_at",
            "delivered_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookAttemptSerializer(serializers.ModelSerializer):
    response_body = serializers.CharField(help_text="The first 2 KB of the response body")

    class Meta:
        model = WebhookAttempt
        fields = [
            "number", "started_at", "status_code", "latency_ms", "outcome", "error",
            "response_body",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookMessageDetailSerializer(WebhookMessageSerializer):
    payload = serializers.CharField(read_only=True, help_text="The exact body sent (JSON text)")
    attempt_history = serializers.SerializerMethodField()

    class Meta(WebhookMessageSerializer.Meta):
        fields = [*WebhookMessageSerializer.Meta.fields, "payload", "attempt_history"]
        read_only_fields = fields

    @extend_schema_field(WebhookAttemptSerializer(many=True))
    def get_attempt_history(self, message: WebhookMessage) -> list[dict]:
        attempts = selectors.attempt_list(message=message)
        return WebhookAttemptSerializer(attempts, many=True).data


# -- examples -------------------------------------------------------------------------------------

ENDPOINT_EXAMPLE = {
    "id": 7,
    "name": "Data warehouse",
    "url": "https://hooks.example.com/payerwatch",
    "event_types": ["drift_event.created", "alert.triggered"],
    "enabled": True,
    "disabled_reason": "",
    "disabled_at": None,
    "failing_since": None,
    "created_at": "2026-11-26T10:00:00Z",
    "updated_at": "2026-11-26T10:00:00Z",
}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+zfmZcZQPj4="
MESSAGE_EXAMPLE = {
    "id": 311,
    "webhook_id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    "endpoint_id": 7,
    "event_type": "drift_event.created",
    "status": "succeeded",
    "attempts": 1,
    "last_status_code": 204,
    "last_error": "",
    "next_attempt_at": None,
    "last_attempt_at": "2026-11-26T10:00:03Z",
    "delivered_at": "2026-11-26T10:00:03Z",
    "created_at": "2026-11-26T10:00:02Z",
}
MESSAGE_DETAIL_EXAMPLE = {
    **MESSAGE_EXAMPLE,
    "payload": '{"type":"drift_event.created","timestamp":"2026-11-26T10:00:02Z","data":'
    '{"customer":"acme","drift_event_id":913,"drift_run_id":42,"payer_id":5,"cpt_group":"ALL",'
    '"drift_type":"denial_rate","direction":"worsening","severity":0.93,"label":"critical"}}',
    "attempt_history": [
        {
            "number": 1,
            "started_at": "2026-11-26T10:00:03Z",
            "status_code": 204,
            "latency_ms": 84,
            "outcome": "succeeded",
            "error": "",
            "response_body": "",
        }
    ],
}
QUEUED_EXAMPLE = {
    **MESSAGE_EXAMPLE,
    "event_type": "webhook.test",
    "status": "pending",
    "attempts": 0,
    "last_status_code": None,
    "delivered_at": None,
    "last_attempt_at": None,
    "next_attempt_at": "2026-11-26T10:00:02Z",
}
QUEUED_EXAMPLE = {
    **MESSAGE_EXAMPLE,
    "event_type": "webhook.test",
    "status": "pending",
    "attempts": 0,
    "last_status_code": None,
    "delivered_at": None,
    "last_attempt_at": None,
    "next_attempt_at": "2026-11-26T10:00:02Z",
}
WRITE_EXAMPLE = {
    "name": "Data warehouse",
    "url": "https://hooks.example.com/payerwatch",
    "event_types": ["drift_event.created", "alert.triggered"],
}


# -- views ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List webhook endpoints",
        description="The customer's webhook endpoints by name: URL, subscribed event types "
        "(empty = all), enabled or why disabled, failing since. Filter with `q` (name) and "
        "`enabled`. Any role may read; secrets are never listed.",
        examples=[OpenApiExample("Endpoint", value=ENDPOINT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One webhook endpoint",
        description="One endpoint of the customer (without its secret).",
        examples=[OpenApiExample("Endpoint", value=ENDPOINT_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Create a webhook endpoint",
        description="Admins add an endpoint; the answer (201) carries its signing secret "
        "(`whsec_…`) — **the only time it is shown**. Verify every request with it (Standard "
        "Webhooks). The name is unique per customer (any case: `conflict`); the URL must be "
        "http(s), without credentials, and not a private address.",
        request=WebhookEndpointWriteSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample("Drift and alerts", value=WRITE_EXAMPLE, request_only=True),
            OpenApiExample(
                "Created", value={**ENDPOINT_EXAMPLE, "secret": SECRET}, response_only=True
            ),
        ],
    ),
    partial_update=extend_schema(
        summary="Change a webhook endpoint",
        description="Change the name, URL or event types, or `enabled` (false disables it: "
        "messages wait; true enables it again and sends what waited). Admins.",
        request=WebhookEndpointPatchSerializer,
        responses={200: WebhookEndpointSerializer},
        examples=[OpenApiExample("Disable", value={"enabled": False}, request_only=True)],
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint",
        description="Deletes the endpoint with its secrets and message log. Admins.",
        responses={204: None},
    ),
    test=extend_schema(
        summary="Send a test message",
        description="Queue a `webhook.test` message to this endpoint (whatever it subscribes "
        "to); the answer (202) is the queued message — follow it at `/webhook-messages/{id}/`. "
        "A disabled endpoint is a `conflict`. Admins; rate-limited.",
        request=None,
        responses={202: OpenApiResponse(WebhookMessageSerializer, description="Queued.")},
        examples=[OpenApiExample("Queued", value=QUEUED_EXAMPLE, response_only=True)],
    ),
    rotate_secret=extend_schema(
        summary="Rotate the signing secret",
        description="A new secret, in this answer only. The previous one stays valid for 24 "
        "hours: meanwhile every message carries two signatures (space-separated in "
        "`webhook-signature`), so receivers switch without losing a message. Admins.",
        request=None,
        responses={200: SecretSerializer},
        examples=[
            OpenApiExample(
                "Rotated",
                value={"secret": SECRET, "previous_valid_until": "2026-11-27T10:00:00Z"},
                response_only=True,
            )
        ],
    ),
    messages=extend_schema(
        summary="Messages of a webhook endpoint",
        description="The endpoint's messages, newest first (paginated): webhook id, event "
        "type, status (`pending`, `succeeded`, `dead`), attempts, last response code and error, "
        "next attempt. Filter by `status`, `event_type`, `webhook_id`. Any role may read.",
        responses=WebhookMessageSerializer(many=True),
        examples=[OpenApiExample("Delivered", value=MESSAGE_EXAMPLE, response_only=True)],
    ),
)
@extend_validation_errors(["conflict"], field_name="name", actions=["create", "partial_update"])
@extend_validation_errors(["conflict"], field_name=None, actions=["test"])
class WebhookEndpointViewSet(
    CustomerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookEndpointSerializer
    parser_classes = [JSONParser]
    filter_backends = FILTER_BACKENDS
    filterset_class = WebhookEndpointFilter
    search_fields = ["name", "url"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.manage_webhooks"
    throttle_scope = "webhooks"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            model = WebhookMessage if self.action == "messages" else WebhookEndpoint
            return model.objects.none()
        if self.action == "messages":
            return selectors.message_list(customer=self.customer, endpoint=self.get_object())
        return selectors.endpoint_list(customer=self.customer)

    def get_object(self) -> WebhookEndpoint:
        try:
            return selectors.endpoint_get(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (WebhookEndpoint.DoesNotExist, ValueError):
            raise Http404 from None

    def create(self, request, *args, **kwargs):
        body = WebhookEndpointWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(
            customer=self.customer, actor=request.user, **body.validated_data
        )
        data = WebhookEndpointCreatedSerializer({**_as_dict(endpoint), "secret": secret}).data
        return Response(data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        body = WebhookEndpointPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = self.get_object()
        changes = dict(body.validated_data)
        enabled = changes.pop("enabled", None)
        if changes:
            endpoint = services.endpoint_update(endpoint=endpoint, actor=request.user, **changes)
        if enabled is True and not endpoint.enabled:
            endpoint = services.endpoint_enable(endpoint=endpoint, actor=request.user)
        elif enabled is False and endpoint.enabled:
            endpoint = services.endpoint_disable(endpoint=endpoint, actor=request.user)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request, *args, **kwargs):
        services.endpoint_delete(endpoint=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def test(self, request, pk=None):
        message = services.endpoint_send_test(endpoint=self.get_object(), actor=request.user)
        message.refresh_from_db()
        return Response(WebhookMessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        now = timezone.now()
        secret = services.secret_rotate(endpoint=self.get_object(), actor=request.user, now=now)
        until = now + services.ROTATION_OVERLAP
        return Response(SecretSerializer({"secret": secret, "previous_valid_until": until}).data)

    @action(
        detail=True,
        serializer_class=WebhookMessageSerializer,
        filterset_class=WebhookMessageFilter,
        search_fields=None,
        ordering_fields=["created_at", "next_attempt_at"],
        pagination_class=PagePagination,
    )
    def messages(self, request, pk=None):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(WebhookMessageSerializer(page, many=True).data)


def _as_dict(endpoint: WebhookEndpoint) -> dict:
    return {name: getattr(endpoint, name) for name in WebhookEndpointSerializer.Meta.fields}


@extend_schema_view(
    list=extend_schema(
        summary="List webhook messages",
        description="Every webhook message of the customer, newest first: one per (endpoint, "
        "event), with its status and attempts. Filter by `status` (e.g. `dead`: the dead "
        "letters), `event_type`, `endpoint`, `webhook_id`. Any role may read.",
        examples=[OpenApiExample("Delivered", value=MESSAGE_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One webhook message with its attempts",
        description="The message, the exact body sent, and every attempt (time, response "
        "code, latency, outcome, error, first 2 KB of the response).",
        responses=WebhookMessageDetailSerializer,
        examples=[OpenApiExample("Delivered", value=MESSAGE_DETAIL_EXAMPLE, response_only=True)],
    ),
    replay=extend_schema(
        summary="Replay a webhook message",
        description="Send a dead (or delivered) message again: same `webhook-id` and body, new "
        "attempts with five retries. A pending message, or a disabled endpoint, is a "
        "`conflict`. Admins; rate-limited. The answer (202) is the queued message.",
        request=None,
        responses={202: OpenApiResponse(WebhookMessageSerializer, description="Queued again.")},
        examples=[OpenApiExample("Queued again", value=MESSAGE_EXAMPLE, response_only=True)],
    ),
)
@extend_validation_errors(["conflict"], field_name=None, actions=["replay"])
class WebhookMessageViewSet(
    CustomerScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = WebhookMessageSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = WebhookMessageFilter
    search_fields = None
    ordering_fields = ["created_at", "next_attempt_at"]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.manage_webhooks"
    throttle_scope = "webhooks"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookMessage.objects.none()
        return selectors.message_list(customer=self.customer)

    def get_object(self) -> WebhookMessage:
        try:
            return selectors.message_get(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (WebhookMessage.DoesNotExist, ValueError):
            raise Http404 from None

    def retrieve(self, request, *args, **kwargs):
        return Response(WebhookMessageDetailSerializer(self.get_object()).data)

    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        message = services.message_replay(message=self.get_object(), actor=request.user)
        return Response(WebhookMessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)
