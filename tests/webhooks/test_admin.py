"""The back office: every webhook model is registered; bulk replay and disable work."""

import pytest
from django.urls import reverse

from portal.webhooks import services
from portal.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    from tests.factories import UserFactory

    return UserFactory(email="root@payerwatch.test", is_staff=True, is_superuser=True)


@pytest.fixture
def endpoint(acme, alice):
    return services.endpoint_create(
        customer=acme, actor=alice, name="Ops", url="https://hooks.example.com/in"
    )[0]


@pytest.mark.parametrize(
    "model", ["webhookendpoint", "webhookmessage", "webhookattempt", "webhooksecret"]
)
def test_changelists_render(client, superuser, endpoint, model):
    client.force_login(superuser)
    assert client.get(reverse(f"admin:webhooks_{model}_changelist")).status_code == 200


def test_bulk_replay_dead_and_bulk_disable(client, superuser, acme, endpoint):
    (message,) = services.messages_write(
        customer=acme, event_type="webhook.test", data={}, event_key="k", endpoint_ids=[endpoint.pk]
    )
    WebhookMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.DEAD, next_attempt_at=None
    )
    client.force_login(superuser)
    client.post(
        reverse("admin:webhooks_webhookmessage_changelist"),
        {"action": "replay_dead", "_selected_action": [message.pk]},
    )
    assert WebhookMessage.objects.get(pk=message.pk).status == MessageStatus.PENDING
    client.post(
        reverse("admin:webhooks_webhookendpoint_changelist"),
        {"action": "disable_endpoints", "_selected_action": [endpoint.pk]},
    )
    assert not WebhookEndpoint.objects.get(pk=endpoint.pk).enabled
