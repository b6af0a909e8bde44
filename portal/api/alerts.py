"""Alert rules and alerts (PRODUCT §5, §9).

Rules: any role reads them; admins (``manage_alert_rules``) create, change and delete them, through
the same services as the portal (a name taken, ignoring case, is a 400 ``conflict`` on ``name``).

Alerts: every alert (``/alerts/``, filtered by the same FilterSet as the portal's table), what
needs attention (``/alerts/active/``: open or acknowledged, not suppressed), the feedback on one
(``GET``/``POST /alerts/{id}/feedback/``: one per person, the caller's own created or changed),
and the lifecycle (``POST /alerts/{id}/acknowledge/``, ``/resolve/``, ``/reopen/``; analysts and
up). Every list is paginated, the custom actions included; every change is audited by the service.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from portal.alerts import selectors, services
from portal.alerts.filters import AlertFilter, AlertRuleFilter
from portal.alerts.forms import MAX_RECIPIENTS
from portal.alerts.models import (
    Alert,
    AlertFeedback,
    AlertRule,
    AlertStatus,
    NotifyStatus,
    ReasonCode,
    RuleDirection,
    Verdict,
)
from portal.api.base import CustomerScopedMixin
from portal.api.claims import FILTER_BACKENDS
from portal.api.drift import LABELS
from portal.drift.detectors import DriftType

RULE_WRITE_ACTIONS = ["create", "partial_update"]
DRIFT_TYPES = [t.value for t in DriftType]


class ItemsField(serializers.ListField):
    """A list whose bad items are reported on the list itself: ``attr`` is the field's name
    (e.g. ``payer_ids``), never ``payer_ids.3``, so every error names a documented attribute."""

    default_error_messages = {"invalid": "Item {index}: {error}"}

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            index, errors = next(iter(exc.detail.items()))
            error = errors[0] if isinstance(errors, list) else errors
            self.fail("invalid", index=index, error=error)


# -- rules ----------------------------------------------------------------------------------------


class AlertRuleSerializer(serializers.ModelSerializer):
    drift_types = serializers.ListField(
        child=serializers.ChoiceField(choices=DRIFT_TYPES),
        help_text="The drift types it matches; empty = every type.",
    )
    payer_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Payer ids it matches; empty = every payer."
    )
    cpt_groups = serializers.ListField(
        child=serializers.CharField(),
        help_text="CPT groups it matches (`ALL` = payer-wide events); empty = every group.",
    )
    email_recipients = serializers.ListField(child=serializers.EmailField())
    webhook_endpoint_ids = serializers.ListField(child=serializers.IntegerField())
    alert_count = serializers.IntegerField(read_only=True, help_text="Alerts it has raised")
    created_by = serializers.EmailField(
        source="created_by.email", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "enabled",
            "drift_types",
            "payer_ids",
            "cpt_groups",
            "min_severity",
            "direction",
            "email_recipients",
            "webhook_endpoint_ids",
            "cooldown_hours",
            "alert_count",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AlertRuleWriteSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=100, help_text="Unique per customer, ignoring case; spaces collapsed."
    )
    enabled = serializers.BooleanField(default=True)
    drift_types = ItemsField(
        child=serializers.ChoiceField(choices=DRIFT_TYPES),
        default=list,
        max_length=len(DRIFT_TYPES),
        help_text="Empty = every drift type.",
    )
    payer_ids = ItemsField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        default=list,
        max_length=500,
        help_text="Ids of the customer's payers (`/claims/payer-summary/`); empty = every payer.",
    )
    cpt_groups = ItemsField(
        child=serializers.CharField(max_length=32),
        default=list,
        max_length=100,
        help_text="Empty = every group; `ALL` matches the payer-wide events.",
    )
    min_severity = serializers.FloatField(
        min_value=0,
        max_value=1,
        default=0.0,
        help_text="0–1 (medium 0.4, high 0.65, critical 0.85)",
    )
    direction = serializers.ChoiceField(choices=RuleDirection.choices, default="worsening")
    email_recipients = ItemsField(
        child=serializers.EmailField(), default=list, max_length=MAX_RECIPIENTS
    )
    webhook_endpoint_ids = ItemsField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        default=list,
        max_length=50,
        help_text="Ids of the customer's webhook endpoints (when webhooks are set up).",
    )
    cooldown_hours = serializers.IntegerField(
        min_value=0,
        max_value=24 * 90,
        default=24,
        help_text="After an alert on a payer and drift type, hold further ones back this long.",
    )


class AlertRulePatchSerializer(AlertRuleWriteSerializer):
    """Every field optional: what is sent changes, the rest stays."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
            field.default = serializers.empty
        return fields


RULE_EXAMPLE = {
    "id": 3,
    "name": "Humana denials",
    "enabled": True,
    "drift_types": ["denial_rate", "denial_dollars"],
    "payer_ids": [5],
    "cpt_groups": [],
    "min_severity": 0.4,
    "direction": "worsening",
    "email_recipients": ["rcm@acme.test"],
    "webhook_endpoint_ids": [],
    "cooldown_hours": 24,
    "alert_count": 7,
    "created_by": "alice@acme.test",
    "created_at": "2026-11-20T09:30:00Z",
    "updated_at": "2026-11-20T09:30:00Z",
}
RULE_REQUEST_EXAMPLE = {
    k: RULE_EXAMPLE[k]
    for k in ("name", "drift_types", "payer_ids", "min_severity", "email_recipients")
}


@extend_schema_view(
    list=extend_schema(
        summary="List alert rules",
        description="The customer's alert rules with what they match (empty = any), where they "
        "send (e-mail recipients, webhook endpoint ids), their cooldown and how many alerts "
        "each raised. Filter with `q` (name contains) and `enabled`. Any role may read.",
        examples=[OpenApiExample("Rule", value=RULE_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One alert rule",
        description="One rule of the customer.",
        examples=[OpenApiExample("Rule", value=RULE_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Create an alert rule",
        description="A new rule: after every drift run, each new or changed event that matches "
        "it raises an alert (unique per rule and event). The name is unique per customer, "
        "ignoring case (`conflict` on `name`); payer and endpoint ids must be the customer's "
        "(`invalid`). Admins, with a write-scoped token; audited.",
        request=AlertRuleWriteSerializer,
        responses={201: AlertRuleSerializer},
        examples=[
            OpenApiExample("Humana denials", value=RULE_REQUEST_EXAMPLE, request_only=True),
            OpenApiExample("Created", value=RULE_EXAMPLE, response_only=True, status_codes=[201]),
        ],
    ),
    partial_update=extend_schema(
        summary="Change an alert rule",
        description="Change any of the rule's fields (e.g. `enabled` to pause it); the others "
        "stay. Admins; audited.",
        request=AlertRulePatchSerializer,
        responses={200: AlertRuleSerializer},
        examples=[OpenApiExample("Pause", value={"enabled": False}, request_only=True)],
    ),
    destroy=extend_schema(
        summary="Delete an alert rule",
        description="The rule stops raising alerts; its alerts stay, with its name. Admins; "
        "audited.",
        responses={204: None},
    ),
)
@extend_validation_errors(["conflict", "invalid"], field_name="name", actions=RULE_WRITE_ACTIONS)
@extend_validation_errors(["invalid"], field_name="payer_ids", actions=RULE_WRITE_ACTIONS)
@extend_validation_errors(
    ["invalid"], field_name="webhook_endpoint_ids", actions=RULE_WRITE_ACTIONS
)
class AlertRuleViewSet(
    CustomerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AlertRuleSerializer
    parser_classes = [JSONParser]
    filter_backends = FILTER_BACKENDS
    filterset_class = AlertRuleFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "updated_at", "min_severity"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.manage_alert_rules"
    throttle_scope = "alert_changes"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AlertRule.objects.none()
        return selectors.alert_rule_list(customer=self.customer)

    def get_object(self) -> AlertRule:
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (AlertRule.DoesNotExist, ValueError, OverflowError):
            raise Http404 from None

    def _answer(self, rule: AlertRule, code=status.HTTP_200_OK) -> Response:
        rule = self.get_queryset().get(pk=rule.pk)  # with its alert count
        return Response(AlertRuleSerializer(rule).data, status=code)

    def create(self, request, *args, **kwargs):
        body = AlertRuleWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = services.alert_rule_create(
            customer=self.customer,
            actor=request.user,
            fields=services.RuleFields(**body.validated_data),
        )
        return self._answer(rule, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        rule = self.get_object()
        body = AlertRulePatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        current = {name: getattr(rule, name) for name in AlertRuleWriteSerializer().fields}
        fields = services.RuleFields(**{**current, **body.validated_data})
        rule = services.alert_rule_update(rule=rule, actor=request.user, fields=fields)
        return self._answer(rule)

    def destroy(self, request, *args, **kwargs):
        services.alert_rule_delete(rule=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- alerts ---------------------------------------------------------------------------------------


class NotificationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        source="notify_status",
        choices=NotifyStatus.choices,
        help_text="`skipped`: suppressed, no recipients, or marked needs_followup.",
    )
    attempts = serializers.IntegerField(source="notify_attempts")
    sent_at = serializers.DateTimeField(source="notified_at", allow_null=True)
    error = serializers.CharField(source="notify_error", help_text="The last failure, if any")


class AlertSerializer(serializers.ModelSerializer):
    rule_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Null once the rule was deleted"
    )
    rule_name = serializers.CharField(read_only=True, help_text="The rule's name when it fired")
    drift_event_id = serializers.IntegerField(source="event_id", read_only=True)
    payer = serializers.CharField(source="payer.name", read_only=True)
    payer_id = serializers.IntegerField(read_only=True)
    cpt_group = serializers.CharField(source="event.cpt_group", read_only=True)
    direction = serializers.CharField(source="event.direction", read_only=True)
    severity = serializers.FloatField(read_only=True, min_value=0, max_value=1)
    label = serializers.ChoiceField(choices=LABELS, read_only=True)
    status = serializers.ChoiceField(choices=AlertStatus.choices, read_only=True)
    suppressed_reason = serializers.CharField(
        read_only=True, help_text="Why it was held back (cooldown or learned noise), else empty"
    )
    acknowledged_by = serializers.EmailField(
        source="acknowledged_by.email", read_only=True, allow_null=True, default=None
    )
    resolved_by = serializers.EmailField(
        source="resolved_by.email", read_only=True, allow_null=True, default=None
    )
    notification = NotificationSerializer(source="*", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule_id",
            "rule_name",
            "drift_event_id",
            "drift_type",
            "payer",
            "payer_id",
            "cpt_group",
            "direction",
            "severity",
            "label",
            "status",
            "suppressed",
            "suppressed_reason",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "notification",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FeedbackSerializer(serializers.ModelSerializer):
    alert_id = serializers.IntegerField(read_only=True)
    user = serializers.EmailField(source="user.email", read_only=True)
    reason_codes = serializers.ListField(child=serializers.ChoiceField(choices=ReasonCode.choices))
    recovered_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="Decimal string, or null"
    )

    class Meta:
        model = AlertFeedback
        fields = [
            "id",
            "alert_id",
            "user",
            "verdict",
            "reason_codes",
            "notes",
            "recovered_amount",
            "recovered_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FeedbackWriteSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=Verdict.choices,
        help_text="`real` acknowledges the alert, `noise` resolves it, `needs_followup` keeps "
        "it open and stops further notifications.",
    )
    reason_codes = ItemsField(
        child=serializers.ChoiceField(choices=ReasonCode.choices),
        default=list,
        max_length=len(ReasonCode.choices),
    )
    notes = serializers.CharField(max_length=4000, allow_blank=True, default="")
    recovered_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        allow_null=True,
        default=None,
        help_text="Dollars won back thanks to the alert (decimal string).",
    )
    recovered_on = serializers.DateField(
        allow_null=True,
        default=None,
        help_text="When (not in the future); defaults to today when an amount is given.",
    )


ALERT_EXAMPLE = {
    "id": 41,
    "rule_id": 3,
    "rule_name": "Humana denials",
    "drift_event_id": 913,
    "drift_type": "denial_rate",
    "payer": "Humana",
    "payer_id": 5,
    "cpt_group": "ALL",
    "direction": "worsening",
    "severity": 0.93,
    "label": "critical",
    "status": "open",
    "suppressed": False,
    "suppressed_reason": "",
    "acknowledged_at": None,
    "acknowledged_by": None,
    "resolved_at": None,
    "resolved_by": None,
    "notification": {
        "status": "sent",
        "attempts": 1,
        "sent_at": "2026-11-26T10:00:03Z",
        "error": "",
    },
    "created_at": "2026-11-26T10:00:02Z",
    "updated_at": "2026-11-26T10:00:03Z",
}
ACKNOWLEDGED_EXAMPLE = {
    **ALERT_EXAMPLE,
    "status": "acknowledged",
    "acknowledged_at": "2026-11-26T11:15:00Z",
    "acknowledged_by": "ana@acme.test",
}
FEEDBACK_EXAMPLE = {
    "id": 8,
    "alert_id": 41,
    "user": "ana@acme.test",
    "verdict": "real",
    "reason_codes": ["payer_policy"],
    "notes": "Humana's new prior-auth policy for imaging.",
    "recovered_amount": "4200.00",
    "recovered_on": "2026-11-28",
    "created_at": "2026-11-26T11:15:00Z",
    "updated_at": "2026-11-28T09:00:00Z",
}
FEEDBACK_REQUEST_EXAMPLE = {
    k: FEEDBACK_EXAMPLE[k]
    for k in ("verdict", "reason_codes", "notes", "recovered_amount", "recovered_on")
}
PAYER_PARAMETER = OpenApiParameter("payer", int, description="A payer id (an alert's `payer_id`)")
RULE_PARAMETER = OpenApiParameter("rule", int, description="A rule id (an alert's `rule_id`)")


def _lifecycle_schema(verb: str, description: str):
    return extend_schema(
        summary=f"{verb.capitalize()} an alert",
        description=f"{description} Analysts and above, with a write-scoped token; audited. An "
        "alert already there is answered as it is; a move the lifecycle does not allow is a "
        "400 `conflict` on `status`.",
        request=None,
        responses={200: AlertSerializer},
        examples=[OpenApiExample("Acknowledged", value=ACKNOWLEDGED_EXAMPLE, response_only=True)]
        if verb == "acknowledge"
        else [],
    )


@extend_schema_view(
    list=extend_schema(
        summary="List alerts",
        description="Every alert of the customer, newest first: the rule and drift event behind "
        "it, payer, drift type, severity and label, status (`open` → `acknowledged` → "
        "`resolved`), suppression and its reason, and the e-mail notification's state. Filters "
        "(the portal table's): `status`, `label`, `payer` (id), `drift_type`, `rule` (id), "
        "`suppressed` (`true`/`false`); `search` in the rule name, payer name and suppression "
        "reason; `ordering` by `created_at`, `severity` or `status`. Any role may read.",
        parameters=[PAYER_PARAMETER, RULE_PARAMETER],
        examples=[OpenApiExample("Open alert", value=ALERT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One alert",
        description="One alert of the customer. Its evidence is the drift event "
        "(`/drift-events/{drift_event_id}/`).",
        examples=[OpenApiExample("Open alert", value=ALERT_EXAMPLE, response_only=True)],
    ),
    active=extend_schema(
        summary="Active alerts",
        description="What needs attention: open or acknowledged alerts that are not "
        "suppressed, newest first unless `ordering` says otherwise. Paginated and filtered "
        "like the list. Any role may read.",
        parameters=[PAYER_PARAMETER, RULE_PARAMETER],
        responses=AlertSerializer(many=True),
        examples=[OpenApiExample("Open alert", value=ALERT_EXAMPLE, response_only=True)],
    ),
    acknowledge=_lifecycle_schema(
        "acknowledge", "Someone is on it: an `open` alert becomes `acknowledged`."
    ),
    resolve=_lifecycle_schema(
        "resolve", "Done with it: an `open` or `acknowledged` alert becomes `resolved`."
    ),
    reopen=_lifecycle_schema(
        "reopen",
        "Back to `open` (from `acknowledged` or `resolved`); it is e-mailed again unless "
        "someone marked it `needs_followup` or it is suppressed.",
    ),
)
@extend_validation_errors(
    ["conflict"], field_name="status", actions=["acknowledge", "resolve", "reopen"]
)
@extend_validation_errors(
    ["invalid"], field_name="recovered_amount", actions=["feedback"], methods=["post"]
)
@extend_validation_errors(
    ["invalid"], field_name="recovered_on", actions=["feedback"], methods=["post"]
)
class AlertViewSet(
    CustomerScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = AlertSerializer
    parser_classes = [JSONParser]
    filter_backends = FILTER_BACKENDS
    filterset_class = AlertFilter
    search_fields = ["rule_name", "payer__name", "suppressed_reason"]
    ordering_fields = ["created_at", "severity", "status"]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.give_feedback"
    throttle_scope = "alert_changes"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        if self.action == "active":
            return selectors.active_alerts(customer=self.customer)
        return selectors.alert_list(customer=self.customer)

    def get_object(self) -> Alert:
        try:
            return selectors.alert_get(customer=self.customer, pk=int(self.kwargs["pk"]))
        except (Alert.DoesNotExist, ValueError, OverflowError):
            raise Http404 from None

    def _page(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)

    @action(detail=False)
    def active(self, request):
        return self._page(self.filter_queryset(self.get_queryset()), AlertSerializer)

    @extend_schema(
        methods=["GET"],
        summary="Feedback on an alert",
        description="Every person's verdict on the alert (one each), most recently changed "
        "first: verdict, reason codes, notes, recovered amount and date. Paginated. Any role "
        "may read.",
        filters=False,
        responses=FeedbackSerializer(many=True),
        examples=[OpenApiExample("Feedback", value=FEEDBACK_EXAMPLE, response_only=True)],
    )
    @extend_schema(
        methods=["POST"],
        summary="Give or change your feedback",
        description="Record the caller's verdict on the alert, or change it (one per person): "
        "`real` acknowledges an open alert, `noise` resolves it (two noise verdicts on the "
        "same payer and drift type within 30 days suppress further alerts on it), "
        "`needs_followup` keeps it open and stops notifications. A recovered amount needs no "
        "date (today); a date needs an amount, and is not in the future. Answers 201 for new "
        "feedback, 200 for a change. Analysts and above, with a write-scoped token; audited.",
        request=FeedbackWriteSerializer,
        responses={
            201: OpenApiResponse(FeedbackSerializer, description="Feedback given."),
            200: OpenApiResponse(FeedbackSerializer, description="Feedback changed."),
        },
        examples=[
            OpenApiExample("Real, money back", value=FEEDBACK_REQUEST_EXAMPLE, request_only=True),
            OpenApiExample("Saved", value=FEEDBACK_EXAMPLE, response_only=True),
        ],
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        serializer_class=FeedbackSerializer,
    )
    def feedback(self, request, pk=None):
        alert = self.get_object()
        if request.method == "GET":
            return self._page(selectors.feedback_list(alert=alert), FeedbackSerializer)
        body = FeedbackWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        existed = selectors.feedback_list(alert=alert).filter(user=request.user).exists()
        feedback = services.feedback_save(
            alert=alert, actor=request.user, fields=services.FeedbackFields(**body.validated_data)
        )
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(FeedbackSerializer(feedback).data, status=code)

    def _move(self, request, verb: str) -> Response:
        alert = services.alert_change_status(
            alert=self.get_object(), actor=request.user, action=verb
        )
        alert = selectors.alert_get(customer=self.customer, pk=alert.pk)
        return Response(AlertSerializer(alert).data)

    @action(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request, pk=None):
        return self._move(request, "acknowledge")

    @action(detail=True, methods=["post"], filter_backends=[])
    def resolve(self, request, pk=None):
        return self._move(request, "resolve")

    @action(detail=True, methods=["post"], filter_backends=[])
    def reopen(self, request, pk=None):
        return self._move(request, "reopen")
