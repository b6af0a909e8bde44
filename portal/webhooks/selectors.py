"""Reads of the webhooks app. Every read takes the customer (or an object already scoped to one)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from portal.accounts.models import Customer
from portal.webhooks.models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage


def endpoint_list(*, customer: Customer) -> QuerySet[WebhookEndpoint]:
    """The customer's endpoints, by name, with their pending and dead message counts."""
    return (
        WebhookEndpoint.objects.filter(customer=customer)
        .annotate(
            pending_count=Count("messages", filter=Q(messages__status=MessageStatus.PENDING)),
            dead_count=Count("messages", filter=Q(messages__status=MessageStatus.DEAD)),
        )
        .order_by("name", "id")
    )


def endpoint_get(*, customer: Customer, pk: int) -> WebhookEndpoint:
    """One endpoint of the customer, or ``WebhookEndpoint.DoesNotExist``."""
    return WebhookEndpoint.objects.select_related("customer").get(customer=customer, pk=pk)


def message_list(
    *, customer: Customer, endpoint: WebhookEndpoint | None = None
) -> QuerySet[WebhookMessage]:
    """The customer's messages (of one endpoint when given), newest first."""
    messages = WebhookMessage.objects.filter(customer=customer).select_related("endpoint")
    if endpoint is not None:
        messages = messages.filter(endpoint=endpoint)
    return messages.order_by("-created_at", "-id")


def message_get(*, customer: Customer, pk: int) -> WebhookMessage:
    return WebhookMessage.objects.select_related("endpoint", "customer").get(
        customer=customer, pk=pk
    )


def attempt_list(*, message: WebhookMessage) -> QuerySet[WebhookAttempt]:
    return WebhookAttempt.objects.filter(customer_id=message.customer_id, message=message).order_by(
        "-number", "-id"
    )
