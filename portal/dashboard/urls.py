from django.urls import path

from portal.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("c/<slug:slug>/dashboard/", views.DashboardView.as_view(), name="home"),
]
