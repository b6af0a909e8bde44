from django.urls import path

from portal.drift import views

app_name = "drift"

urlpatterns = [
    path("c/<slug:slug>/drift/", views.EventListView.as_view(), name="event-list"),
    path("c/<slug:slug>/drift/<int:pk>/", views.EventDetailView.as_view(), name="event-detail"),
    path("c/<slug:slug>/drift/runs/", views.RunListView.as_view(), name="run-list"),
    path("c/<slug:slug>/drift/runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path(
        "c/<slug:slug>/drift/runs/<int:pk>/status/",
        views.RunStatusView.as_view(),
        name="run-status",
    ),
    path("c/<slug:slug>/drift/settings/", views.SettingsView.as_view(), name="settings"),
]
