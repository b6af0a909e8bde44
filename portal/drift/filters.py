"""FilterSets of the drift tables, shared by the portal pages and the API (PRODUCT §4, §9).

As in ``portal.claims.filters``: the payer choices are built per request from the customer (the
``customer`` keyword, else ``request.payerwatch_customer``); without one they are empty.
"""

from __future__ import annotations

import django_filters
from django import forms

from portal.claims import selectors as claim_selectors
from portal.claims.models import Payer
from portal.core.filters import ModelChoiceFilter
from portal.drift.detectors import Direction, DriftType
from portal.drift.models import DriftEvent, DriftRun, RunStatus

DATE = forms.DateInput(attrs={"type": "date"})
LABELS = [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")]
TRIGGERS = [
    (t, t)
    for t in ("manual", "portal", "api", "schedule", "upload", "command", "demo", "benchmark")
]


def _customer(customer, request):
    if customer is not None:
        return customer
    return getattr(request, "payerwatch_customer", None)


class DriftEventFilter(django_filters.FilterSet):
    payer = ModelChoiceFilter(queryset=Payer.objects.none(), empty_label="Any payer")
    drift_type = django_filters.ChoiceFilter(
        choices=[(t.value, t.value) for t in DriftType], empty_label="Any drift type"
    )
    cpt_group = django_filters.CharFilter(label="CPT group")
    direction = django_filters.ChoiceFilter(
        choices=[(d.value, d.value) for d in Direction], empty_label="Any direction"
    )
    label = django_filters.ChoiceFilter(choices=LABELS, empty_label="Any label")
    min_severity = django_filters.NumberFilter(
        field_name="severity", lookup_expr="gte", label="Min. severity"
    )
    current_end_from = django_filters.DateFilter(
        field_name="current_end", lookup_expr="gte", label="Window ends from", widget=DATE
    )
    current_end_until = django_filters.DateFilter(
        field_name="current_end", lookup_expr="lte", label="Window ends until", widget=DATE
    )
    status = django_filters.ChoiceFilter(
        choices=[("active", "Active (latest window)"), ("past", "Past windows")],
        method="filter_status",
        empty_label="Any status",
    )

    class Meta:
        model = DriftEvent
        fields = [
            "payer",
            "drift_type",
            "cpt_group",
            "direction",
            "label",
            "min_severity",
            "current_end_from",
            "current_end_until",
            "status",
        ]

    def filter_status(self, queryset, name, value):
        """Active: in the current window of the latest succeeded run (as ``active_events``)."""
        from portal.drift.selectors import latest_succeeded_run

        run = latest_succeeded_run(customer=self.customer) if self.customer else None
        if run is None or run.current_start is None:
            return queryset.none() if value == "active" else queryset
        latest = {"current_start": run.current_start, "current_end": run.current_end}
        return queryset.filter(**latest) if value == "active" else queryset.exclude(**latest)

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, customer=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.customer = _customer(customer, request)
        if self.customer is not None:
            self.filters["payer"].queryset = claim_selectors.payer_list(customer=self.customer)


class DriftRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, empty_label="Any status")
    trigger = django_filters.ChoiceFilter(choices=TRIGGERS, empty_label="Any trigger")

    class Meta:
        model = DriftRun
        fields = ["status", "trigger"]
