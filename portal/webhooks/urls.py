from django.urls import path

from portal.webhooks import views

app_name = "webhooks"

ACTIONS = ["enable", "disable", "delete", "test", "rotate", "replay-dead"]

urlpatterns = [
    path("c/<slug:slug>/webhooks/", views.EndpointListView.as_view(), name="endpoint-list"),
    path("c/<slug:slug>/webhooks/new/", views.EndpointCreateView.as_view(), name="endpoint-create"),
    path(
        "c/<slug:slug>/webhooks/<int:pk>/",
        views.EndpointDetailView.as_view(),
        name="endpoint-detail",
    ),
    path(
        "c/<slug:slug>/webhooks/<int:pk>/edit/",
        views.EndpointEditView.as_view(),
        name="endpoint-edit",
    ),
    *[
        path(
            f"c/<slug:slug>/webhooks/<int:pk>/{action}/",
            views.EndpointActionView.as_view(action=action),
            name=f"endpoint-{action}",
        )
        for action in ACTIONS
    ],
    path("c/<slug:slug>/webhooks/dead/", views.DeadLetterView.as_view(), name="dead-letters"),
    path(
        "c/<slug:slug>/webhooks/messages/<int:pk>/",
        views.MessageDetailView.as_view(),
        name="message-detail",
    ),
    path(
        "c/<slug:slug>/webhooks/messages/<int:pk>/replay/",
        views.MessageReplayView.as_view(),
        name="message-replay",
    ),
]
