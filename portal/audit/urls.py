from django.urls import path

from portal.audit import views

app_name = "audit"

urlpatterns = [
    path("audit/", views.StaffAuditView.as_view(), name="all"),
    path("c/<slug:slug>/audit/", views.CustomerAuditView.as_view(), name="customer"),
]
