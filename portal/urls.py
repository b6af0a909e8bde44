from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

admin.site.site_header = "Payerwatch back office"
admin.site.site_title = "Payerwatch back office"
admin.site.index_title = "Staff back office"

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("portal.api.urls")),
    path("", include("portal.audit.urls")),
    path("", include("portal.claims.urls")),
    path("", include("portal.drift.urls")),
    path("", include("portal.dashboard.urls")),
    path("", include("portal.webhooks.urls")),
    path("", include("portal.alerts.urls")),
    path("", include("portal.reports.urls")),
    path("", include("portal.accounts.urls")),
]

handler400 = "portal.core.errors.bad_request"
handler403 = "portal.core.errors.permission_denied"
handler404 = "portal.core.errors.page_not_found"
handler500 = "portal.core.errors.server_error"
