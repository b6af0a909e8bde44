"""Reads of the alerts app. Every read takes the customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from portal.accounts.models import Customer
from portal.alerts.models import Alert, AlertFeedback, AlertRule, AlertStatus


def alert_rules(*, customer: Customer) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(customer=customer).order_by("name", "id")


def alert_rule_list(*, customer: Customer) -> QuerySet[AlertRule]:
    """The rules with how many alerts each raised (the rules table)."""
    return alert_rules(customer=customer).annotate(alert_count=Count("alerts"))


def alert_rule_get(*, customer: Customer, pk: int) -> AlertRule:
    """One rule of the customer, or ``AlertRule.DoesNotExist`` (another customer's is a 404)."""
    return AlertRule.objects.filter(customer=customer).get(pk=pk)


def alert_list(*, customer: Customer) -> QuerySet[Alert]:
    """The customer's alerts, newest first, with their event and payer."""
    return (
        Alert.objects.filter(customer=customer)
        .select_related("event", "payer", "rule", "acknowledged_by", "resolved_by")
        .order_by("-created_at", "-id")
    )


ACTIVE = Q(status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED], suppressed=False)


def active_alerts(*, customer: Customer) -> QuerySet[Alert]:
    """Open or acknowledged, and not suppressed (PRODUCT §5)."""
    return alert_list(customer=customer).filter(ACTIVE)


def alert_get(*, customer: Customer, pk: int) -> Alert:
    return alert_list(customer=customer).get(pk=pk)


def feedback_list(*, alert: Alert) -> QuerySet[AlertFeedback]:
    return AlertFeedback.objects.filter(customer_id=alert.customer_id, alert=alert).select_related(
        "user"
    )


@dataclass(frozen=True)
class Recovered:
    this_month: Decimal
    last_30_days: Decimal
    all_time: Decimal


def recovered_totals(*, customer: Customer, today: date | None = None) -> Recovered:
    """Dollars people reported recovered thanks to alerts, by the date they were recovered."""
    today = today or timezone.localdate()
    zero = Decimal("0.00")
    sums = AlertFeedback.objects.filter(
        customer=customer, recovered_amount__isnull=False
    ).aggregate(
        this_month=Sum(
            "recovered_amount",
            filter=Q(recovered_on__gte=today.replace(day=1), recovered_on__lte=today),
        ),
        last_30_days=Sum(
            "recovered_amount",
            filter=Q(recovered_on__gt=today - timedelta(days=30), recovered_on__lte=today),
        ),
        all_time=Sum("recovered_amount"),
    )
    return Recovered(**{key: value or zero for key, value in sums.items()})


def open_alert_count(*, customer: Customer) -> int:
    return Alert.objects.filter(ACTIVE, customer=customer).count()
