"""FilterSets of the webhooks tables, shared by the portal pages and the API (PRODUCT §9)."""

from __future__ import annotations

import django_filters

from portal.core.filters import ModelChoiceFilter
from portal.webhooks.models import EventType, MessageStatus, WebhookEndpoint, WebhookMessage


def _customer(customer, request):
    if customer is not None:
        return customer
    return getattr(request, "payerwatch_customer", None)


class WebhookEndpointFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    enabled = django_filters.BooleanFilter(label="Enabled")

    class Meta:
        model = WebhookEndpoint
        fields = ["q", "enabled"]


class WebhookMessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MessageStatus.choices, empty_label="Any status")
    event_type = django_filters.ChoiceFilter(choices=EventType.choices, empty_label="Any event")
    endpoint = ModelChoiceFilter(
        queryset=WebhookEndpoint.objects.none(), empty_label="Any endpoint"
    )
    webhook_id = django_filters.CharFilter(label="Webhook id")

    class Meta:
        model = WebhookMessage
        fields = ["status", "event_type", "endpoint", "webhook_id"]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, customer=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        customer = _customer(customer, request)
        if customer is not None:
            self.filters["endpoint"].queryset = WebhookEndpoint.objects.filter(
                customer=customer
            ).order_by("name")
