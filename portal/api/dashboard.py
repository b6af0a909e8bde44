"""The customer dashboard as JSON (PRODUCT §8, §9): the same numbers as the portal's dashboard,
from the same five-minute cache (``portal.dashboard.selectors.dashboard``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.base import CustomerScopedMixin
from portal.dashboard import selectors


class DashboardKpisSerializer(serializers.Serializer):
    decided = serializers.IntegerField(help_text="Claims decided in the last 30 days")
    submitted = serializers.IntegerField(help_text="Claims submitted in the last 30 days")
    denied = serializers.IntegerField(help_text="Of the decided claims, denied")
    denial_rate = serializers.FloatField(
        allow_null=True, help_text="denied / decided, last 30 days (0–1; null without claims)"
    )
    previous_decided = serializers.IntegerField(help_text="Claims decided in the 30 days before")
    previous_denial_rate = serializers.FloatField(
        allow_null=True, help_text="The denial rate of the 30 days before"
    )
    denial_rate_change = serializers.FloatField(
        allow_null=True, help_text="denial_rate − previous_denial_rate (0.021 = +2.1 points)"
    )
    median_decision_days = serializers.FloatField(
        source="median_days",
        allow_null=True,
        help_text="Median days from submission to decision, claims decided in the last 30 days",
    )
    previous_median_decision_days = serializers.FloatField(
        source="previous_median_days", allow_null=True, help_text="The same, 30 days before"
    )
    median_decision_days_change = serializers.FloatField(
        source="median_days_change", allow_null=True, help_text="Days, current − previous"
    )


class DashboardRecoveredSerializer(serializers.Serializer):
    this_month = serializers.DecimalField(max_digits=16, decimal_places=2)
    last_30_days = serializers.DecimalField(max_digits=16, decimal_places=2)
    all_time = serializers.DecimalField(max_digits=16, decimal_places=2)


class DashboardRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed"])
    as_of = serializers.DateField()
    when = serializers.DateTimeField(help_text="Finished, else created")
    finished_at = serializers.DateTimeField(allow_null=True)
    events = serializers.IntegerField(help_text="Events the run created or updated")


class DashboardUploadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["queued", "processing", "succeeded", "partially_succeeded", "failed"]
    )
    rows_total = serializers.IntegerField()
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class DashboardEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    drift_type = serializers.CharField()
    payer = serializers.CharField()
    payer_id = serializers.IntegerField()
    cpt_group = serializers.CharField(help_text="`ALL` for the payer across CPT groups")
    direction = serializers.ChoiceField(choices=["worsening", "improving"])
    label = serializers.CharField()
    severity = serializers.FloatField(min_value=0, max_value=1)
    baseline = serializers.CharField(help_text="Formatted in the drift type's unit")
    current = serializers.CharField(help_text="Formatted in the drift type's unit")
    delta = serializers.CharField(help_text="Formatted, e.g. `+12.3 pp`")
    current_start = serializers.DateField()
    current_end = serializers.DateField()


class DashboardPayerSerializer(serializers.Serializer):
    payer_id = serializers.IntegerField()
    name = serializers.CharField()
    decided_total = serializers.IntegerField(help_text="Decided claims over the chart's weeks")
    decided = serializers.ListField(child=serializers.IntegerField(), help_text="Per week")
    denied = serializers.ListField(child=serializers.IntegerField(), help_text="Per week")
    denial_rate = serializers.ListField(
        source="rates",
        child=serializers.FloatField(allow_null=True),
        help_text="Per week (null: no decision that week)",
    )


class DashboardSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    computed_at = serializers.DateTimeField(help_text="When these numbers were computed (cache)")
    window_days = serializers.IntegerField()
    kpis = DashboardKpisSerializer()
    open_alerts = serializers.IntegerField(help_text="Open or acknowledged, not suppressed")
    recovered = DashboardRecoveredSerializer(
        help_text="Dollars reported recovered thanks to alerts"
    )
    last_run = DashboardRunSerializer(allow_null=True)
    last_upload = DashboardUploadSerializer(allow_null=True)
    weeks = serializers.ListField(
        child=serializers.DateField(), help_text="Mondays of the chart's 16 weeks, oldest first"
    )
    top_payers = DashboardPayerSerializer(
        many=True, help_text="The top 5 payers by decided claims, weekly (by decision date)"
    )
    newest_events = DashboardEventSerializer(many=True)
    recent_uploads = DashboardUploadSerializer(many=True)


EXAMPLE = {
    "as_of": "2026-11-26",
    "computed_at": "2026-11-26T10:02:11Z",
    "window_days": 30,
    "kpis": {
        "decided": 9812,
        "submitted": 10120,
        "denied": 1305,
        "denial_rate": 0.133,
        "previous_decided": 9644,
        "previous_denial_rate": 0.112,
        "denial_rate_change": 0.021,
        "median_decision_days": 15.0,
        "previous_median_decision_days": 14.0,
        "median_decision_days_change": 1.0,
    },
    "open_alerts": 3,
    "recovered": {"this_month": "1200.00", "last_30_days": "2150.00", "all_time": "18400.00"},
    "last_run": {
        "id": 42,
        "status": "succeeded",
        "as_of": "2026-11-26",
        "when": "2026-11-26T03:00:04Z",
        "finished_at": "2026-11-26T03:00:04Z",
        "events": 5,
    },
    "last_upload": {
        "id": 17,
        "file_name": "claims-november.csv",
        "status": "succeeded",
        "rows_total": 60000,
        "inserted": 1200,
        "updated": 300,
        "rejected": 0,
        "created_at": "2026-11-26T02:55:00Z",
        "finished_at": "2026-11-26T02:55:12Z",
    },
    "weeks": ["2026-11-16", "2026-11-23"],
    "top_payers": [
        {
            "payer_id": 5,
            "name": "Humana",
            "decided_total": 312,
            "decided": [160, 152],
            "denied": [19, 47],
            "denial_rate": [0.119, 0.309],
        }
    ],
    "newest_events": [
        {
            "id": 913,
            "drift_type": "denial_rate",
            "payer": "Humana",
            "payer_id": 5,
            "cpt_group": "ALL",
            "direction": "worsening",
            "label": "critical",
            "severity": 0.93,
            "baseline": "12.1%",
            "current": "30.4%",
            "delta": "+18.3 pp",
            "current_start": "2026-11-13",
            "current_end": "2026-11-26",
        }
    ],
    "recent_uploads": [],
}


class DashboardView(CustomerScopedMixin, APIView):
    @extend_schema(
        operation_id="dashboard",
        summary="Dashboard",
        description="The customer's dashboard, the same numbers as the portal's: claims "
        "decided and submitted in the last 30 days, the denial rate (by decision date) and its "
        "change against the 30 days before, the median days to decision, open alerts, recovered "
        "dollars, the last drift run and upload, the weekly denial rate of the top 5 payers "
        "over 16 weeks, the newest drift events and the recent uploads. Cached for 5 minutes "
        "per customer (`computed_at`), refreshed when a drift run or an upload finishes. Any "
        "role may read.",
        responses=DashboardSerializer,
        examples=[OpenApiExample("Dashboard", value=EXAMPLE, response_only=True)],
    )
    def get(self, request):
        data = selectors.dashboard(customer=self.customer)
        return Response(DashboardSerializer(data).data)
