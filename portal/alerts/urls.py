from django.urls import path

from portal.alerts import views

app_name = "alerts"

urlpatterns = [
    path("c/<slug:slug>/alerts/", views.AlertListView.as_view(), name="alert-list"),
    path("c/<slug:slug>/alerts/<int:pk>/", views.AlertDetailView.as_view(), name="alert-detail"),
    path(
        "c/<slug:slug>/alerts/<int:pk>/status/",
        views.AlertStatusView.as_view(),
        name="alert-status",
    ),
    path("c/<slug:slug>/alerts/rules/", views.RuleListView.as_view(), name="rule-list"),
    path("c/<slug:slug>/alerts/rules/new/", views.RuleFormView.as_view(), name="rule-create"),
    path("c/<slug:slug>/alerts/rules/<int:pk>/", views.RuleFormView.as_view(), name="rule-edit"),
    path(
        "c/<slug:slug>/alerts/rules/<int:pk>/toggle/",
        views.RuleToggleView.as_view(),
        name="rule-toggle",
    ),
    path(
        "c/<slug:slug>/alerts/rules/<int:pk>/delete/",
        views.RuleDeleteView.as_view(),
        name="rule-delete",
    ),
]
