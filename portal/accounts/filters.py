"""FilterSets for the members and customers tables (the API reuses them later)."""

import django_filters
from django.db.models import Q

from portal.accounts.models import Customer, Membership
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
        field_name="created_at", lookup_expr="date__gte", label="Created on or after"
    )

    class Meta:
        model = Customer
        fields = ["q", "created_after"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))
