from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import SimpleRouter

from portal.api import (
    alerts,
    audit_events,
    claims,
    dashboard,
    drift,
    health,
    mappings,
    me,
    members,
    reports,
    uploads,
    webhooks,
)
from portal.api.views import not_found

router = SimpleRouter()
router.register("members", members.MemberViewSet, basename="member")
router.register("audit-events", audit_events.AuditEventViewSet, basename="audit-event")
router.register("uploads", uploads.UploadViewSet, basename="upload")
router.register("claims", claims.ClaimViewSet, basename="claim")
router.register("payer-aliases", mappings.PayerAliasViewSet, basename="payer-alias")
router.register("cpt-groups", mappings.CptGroupViewSet, basename="cpt-group")
router.register("drift-runs", drift.DriftRunViewSet, basename="drift-run")
router.register("drift-events", drift.DriftEventViewSet, basename="drift-event")
router.register("webhook-endpoints", webhooks.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-messages", webhooks.WebhookMessageViewSet, basename="webhook-message")
router.register("alert-rules", alerts.AlertRuleViewSet, basename="alert-rule")
router.register("alerts", alerts.AlertViewSet, basename="alert")
router.register("reports", reports.ReportViewSet, basename="report")

v1 = [
    path("health/", health.HealthView.as_view(), name="health"),
    path("me/", me.MeView.as_view(), name="me"),
    path("dashboard/", dashboard.DashboardView.as_view(), name="dashboard"),
    *router.urls,
]

app_name = "api"
urlpatterns = [
    path("v1/", include((v1, "v1"))),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    # Anything else under /api/ is a 404 in the API's error format, not Django's HTML page.
    re_path(r"^.*$", not_found, name="not-found"),
]
