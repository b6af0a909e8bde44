from django.urls import path

from portal.reports import views

app_name = "reports"

urlpatterns = [
    path("c/<slug:slug>/reports/", views.ReportListView.as_view(), name="report-list"),
    path("c/<slug:slug>/reports/export/", views.ExportView.as_view(), name="export"),
    path("c/<slug:slug>/reports/settings/", views.SettingsView.as_view(), name="settings"),
    path("c/<slug:slug>/reports/<int:pk>/", views.ReportDetailView.as_view(), name="report-detail"),
    path(
        "c/<slug:slug>/reports/<int:pk>/status/",
        views.ReportStatusView.as_view(),
        name="report-status",
    ),
    path(
        "c/<slug:slug>/reports/<int:pk>/download/<str:format>/",
        views.ReportDownloadView.as_view(),
        name="report-download",
    ),
    path(
        "c/<slug:slug>/reports/<int:pk>/email/",
        views.ReportEmailView.as_view(),
        name="report-email",
    ),
]
