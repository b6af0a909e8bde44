from django.urls import path

from portal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("customers/", views.CustomerListView.as_view(), name="customer-list"),
    path("customers/new/", views.CustomerCreateView.as_view(), name="customer-create"),
    path("c/<slug:slug>/", views.CustomerHomeView.as_view(), name="customer-home"),
    path("c/<slug:slug>/members/", views.MemberListView.as_view(), name="member-list"),
    path(
        "c/<slug:slug>/members/<int:pk>/role/",
        views.MemberActionView.as_view(action="role"),
        name="member-role",
    ),
    path(
        "c/<slug:slug>/members/<int:pk>/remove/",
        views.MemberActionView.as_view(action="remove"),
        name="member-remove",
    ),
    path("c/<slug:slug>/settings/tokens/", views.ApiTokenListView.as_view(), name="token-list"),
    path(
        "c/<slug:slug>/settings/tokens/<int:pk>/revoke/",
        views.ApiTokenRevokeView.as_view(),
        name="token-revoke",
    ),
]
