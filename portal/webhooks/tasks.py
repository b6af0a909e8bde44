"""django-q2 tasks of the webhooks app: delivery happens here, never in a web request."""

from __future__ import annotations

from portal.webhooks import delivery


def deliver(message_ids: list[int]) -> int:
    """Deliver messages just written (queued on commit by ``services``) if they are due."""
    total = 0
    ids = [int(pk) for pk in message_ids]
    while True:
        sent = delivery.deliver_due(message_ids=ids)
        total += sent
        if sent < delivery.BATCH_SIZE:
            return total


def deliver_due() -> int:
    """The ``webhooks-deliver`` schedule (every minute): retries and anything a task missed."""
    return delivery.deliver_all_due()
