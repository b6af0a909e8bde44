"""The FilterSet of the alerts table, shared by the portal page and the API (PRODUCT §9).

As in ``portal.drift.filters``: the payer and rule choices are built per request from the
customer (the ``customer`` keyword, else ``request.payerwatch_customer``); without one they are
empty, so another customer's payer or rule is neither offered nor accepted.
"""

from __future__ import annotations

import django_filters

from portal.alerts import selectors
from portal.alerts.models import Alert, AlertRule, AlertStatus
from portal.claims import selectors as claim_selectors
from portal.claims.models import Payer
from portal.core.filters import ModelChoiceFilter
from portal.drift.detectors import DriftType
from portal.drift.filters import LABELS, _customer

YES_NO = [("true", "Suppressed"), ("false", "Not suppressed")]


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices, empty_label="Any status")
    label = django_filters.ChoiceFilter(
        choices=LABELS, empty_label="Any severity", label="Severity"
    )
    payer = ModelChoiceFilter(queryset=Payer.objects.none(), empty_label="Any payer")
    drift_type = django_filters.ChoiceFilter(
        choices=[(t.value, t.value) for t in DriftType], empty_label="Any drift type"
    )
    rule = ModelChoiceFilter(queryset=AlertRule.objects.none(), empty_label="Any rule")
    suppressed = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_boolean", empty_label="Suppressed or not"
    )

    class Meta:
        model = Alert
        fields = ["status", "label", "payer", "drift_type", "rule", "suppressed"]

    def filter_boolean(self, queryset, name, value):
        return queryset.filter(**{name: value == "true"})

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, customer=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.customer = _customer(customer, request)
        if self.customer is not None:
            self.filters["payer"].queryset = claim_selectors.payer_list(customer=self.customer)
            self.filters["rule"].queryset = selectors.alert_rules(customer=self.customer)


class AlertRuleFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    enabled = django_filters.ChoiceFilter(
        choices=[("true", "Enabled"), ("false", "Disabled")],
        method="filter_boolean",
        empty_label="Enabled or not",
    )

    class Meta:
        model = AlertRule
        fields = ["q", "enabled"]

    def filter_boolean(self, queryset, name, value):
        return queryset.filter(**{name: value == "true"})
