import django_filters
from django import forms
from django.db.models import Q

from portal.audit.actions import Action, Outcome
from portal.audit.models import AuditEvent

DATE = forms.DateInput(attrs={"type": "date"})


class AuditEventFilter(django_filters.FilterSet):
    """The audit table's filters, shared by the portal page and the API."""

    q = django_filters.CharFilter(method="search", label="Search")
    action = django_filters.ChoiceFilter(choices=Action.choices, empty_label="Any action")
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, empty_label="Any outcome")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="From", widget=DATE
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="Until", widget=DATE
    )

    class Meta:
        model = AuditEvent
        fields = ["q", "action", "outcome", "created_after", "created_before"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(actor_email__icontains=value) | Q(object_id=value) | Q(request_id=value)
        )
