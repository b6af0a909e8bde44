"""FilterSets for the members and customers tables (the API reuses them later)."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from portal.accounts.models import ApiToken, Customer, Membership, TokenScope
from portal.accounts.roles import Role


class MembershipFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    role = django_filters.ChoiceFilter(choices=Role.choices, empty_label="Any role")

    class Meta:
        model = Membership
        fields = ["q", "role"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(user__email__icontains=value) | Q(user__full_name__icontains=value)
        )


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    created_after = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label="Created on or after",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Customer
        fields = ["q", "created_after"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))


class ApiTokenFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    scope = django_filters.ChoiceFilter(choices=TokenScope.choices, empty_label="Any scope")
    active = django_filters.ChoiceFilter(
        choices=[("yes", "Active"), ("no", "Revoked or expired")],
        method="filter_active",
        label="Status",
        empty_label="Any status",
    )

    class Meta:
        model = ApiToken
        fields = ["q", "scope", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(prefix__startswith=value))

    def filter_active(self, queryset, name, value):
        now = timezone.now()
        live = Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        return queryset.filter(live) if value == "yes" else queryset.exclude(live)
