"""Portal webhook pages × roles (PRODUCT §2, §6, §8): admins manage, viewers and analysts read,
another customer's admin gets 404 everywhere."""

import pytest
from django.urls import reverse

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.webhooks import delivery, services
from portal.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db


def url(name, *args, slug="acme"):
    return reverse(f"webhooks:{name}", args=[slug, *args])


@pytest.fixture
def endpoint(acme, alice):
    endpoint, _ = services.endpoint_create(
        customer=acme, actor=alice, name="Ops", url="https://hooks.example.com/in"
    )
    return endpoint


@pytest.fixture
def message(acme, endpoint):
    (message,) = services.message_emit(
        customer=acme, event_type="webhook.test", data={}, event_key="k1"
    )
    return message


def test_read_pages_by_role(client, acme, alice, analyst, bob, charlie, endpoint, message):
    pages = [
        url("endpoint-list"),
        url("endpoint-detail", endpoint.pk),
        url("message-detail", message.pk),
        url("dead-letters"),
    ]
    for user, status in [(alice, 200), (analyst, 200), (bob, 200), (charlie, 404)]:
        client.force_login(user)
        for page in pages:
            assert client.get(page).status_code == status, (user.email, page)


def test_manage_pages_by_role(client, alice, analyst, bob, charlie, endpoint):
    for user, status in [(alice, 200), (analyst, 403), (bob, 403), (charlie, 404)]:
        client.force_login(user)
        assert client.get(url("endpoint-create")).status_code == status
        assert client.get(url("endpoint-edit", endpoint.pk)).status_code == status


@pytest.mark.parametrize("action", ["enable", "disable", "delete", "test", "rotate", "replay-dead"])
def test_viewer_cannot_post_any_action_and_charlie_gets_404(client, bob, charlie, endpoint, action):
    client.force_login(bob)
    assert client.post(url(f"endpoint-{action}", endpoint.pk)).status_code == 403
    client.force_login(charlie)
    assert client.post(url(f"endpoint-{action}", endpoint.pk)).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()


def test_viewer_cannot_replay_or_create(client, bob, message):
    client.force_login(bob)
    assert client.post(url("message-replay", message.pk)).status_code == 403
    response = client.post(url("endpoint-create"), {"name": "X", "url": "https://x.example/"})
    assert response.status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_admin_creates_an_endpoint_and_sees_the_secret_once(client, alice, acme):
    client.force_login(alice)
    response = client.post(
        url("endpoint-create"),
        {
            "name": "Warehouse",
            "url": "https://hooks.example.com/pw",
            "event_types": ["drift_event.created", "alert.triggered"],
        },
    )
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get(customer=acme, name="Warehouse")
    secret = endpoint.secrets.get().secret
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert endpoint.event_types == ["drift_event.created", "alert.triggered"]
    assert secret not in client.get(url("endpoint-detail", endpoint.pk)).content.decode()
    assert AuditEvent.objects.filter(
        action=Action.WEBHOOK_ENDPOINT_CREATED, object_id=str(endpoint.pk), actor=alice
    ).exists()


def test_a_taken_name_is_a_form_error_not_a_500(client, alice, endpoint):
    client.force_login(alice)
    response = client.post(url("endpoint-create"), {"name": "OPS", "url": "https://x.example/"})
    assert response.status_code == 400
    assert "exists already" in response.content.decode()


def test_a_private_url_is_a_form_error(client, alice, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    client.force_login(alice)
    response = client.post(url("endpoint-create"), {"name": "X", "url": "http://10.1.2.3/"})
    assert response.status_code == 400 and "not a public address" in response.content.decode()


def test_admin_edits_disables_enables_and_deletes(client, alice, endpoint):
    client.force_login(alice)
    response = client.post(
        url("endpoint-edit", endpoint.pk), {"name": "Ops 2", "url": "https://h.example.com/2"}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url, endpoint.event_types) == (
        "Ops 2", "https://h.example.com/2", [],
    )  # fmt: skip
    client.post(url("endpoint-disable", endpoint.pk))
    endpoint.refresh_from_db()
    assert not endpoint.enabled and alice.email in endpoint.disabled_reason
    client.post(url("endpoint-enable", endpoint.pk))
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert client.post(url("endpoint-delete", endpoint.pk)).status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        Action.WEBHOOK_ENDPOINT_UPDATED,
        Action.WEBHOOK_ENDPOINT_DISABLED,
        Action.WEBHOOK_ENDPOINT_ENABLED,
        Action.WEBHOOK_ENDPOINT_DELETED,
    } <= actions


def test_send_test_delivers_and_shows_in_the_log(
    client, alice, acme, receiver, django_capture_on_commit_callbacks
):
    endpoint, secret = services.endpoint_create(
        customer=acme, actor=alice, name="Local", url=receiver.url
    )
    receiver.secrets.append(secret)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("endpoint-test", endpoint.pk), follow=True)
    page = response.content.decode()
    assert "Test message msg_" in page
    (message,) = WebhookMessage.objects.filter(endpoint=endpoint)
    assert message.status == MessageStatus.SUCCEEDED and message.webhook_id in page
    assert len(receiver.verified) == 1
    detail = client.get(url("message-detail", message.pk)).content.decode()
    assert "Succeeded (2xx)" in detail and "204" in detail


def test_rotate_shows_the_new_secret(client, alice, endpoint):
    client.force_login(alice)
    response = client.post(url("endpoint-rotate", endpoint.pk))
    current = endpoint.secrets.filter(expires_at__isnull=True).get().secret
    assert response.status_code == 200 and current in response.content.decode()
    assert endpoint.secrets.count() == 2


def test_dead_letters_list_and_replay(client, alice, acme, message):
    WebhookMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.DEAD, next_attempt_at=None
    )
    client.force_login(alice)
    page = client.get(url("dead-letters")).content.decode()
    assert message.webhook_id in page and "Replay" in page
    assert client.post(url("message-replay", message.pk)).status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING


def test_replay_all_dead_of_an_endpoint(client, alice, endpoint, message):
    WebhookMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.DEAD, next_attempt_at=None
    )
    client.force_login(alice)
    response = client.post(url("endpoint-replay-dead", endpoint.pk), follow=True)
    assert "1 dead message replayed" in response.content.decode()


def test_message_log_filters_in_place_with_htmx(client, alice, endpoint, message):
    client.force_login(alice)
    response = client.get(
        url("endpoint-detail", endpoint.pk), {"status": "dead"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="table-region"' in body
    assert "<html" not in body and "Nothing matches" in body


def test_nav_links_to_webhooks(client, bob):
    client.force_login(bob)
    assert (
        url("endpoint-list")
        in client.get(reverse("drift:run-list", args=["acme"])).content.decode()
    )


def test_delivery_outcome_shows_on_the_message_page(client, alice, acme, receiver):
    services.endpoint_create(customer=acme, actor=alice, name="Local", url=receiver.url)
    receiver.mode = "500"
    (message,) = services.message_emit(
        customer=acme, event_type="webhook.test", data={}, event_key="x"
    )
    delivery.deliver_due()
    client.force_login(alice)
    page = client.get(url("message-detail", message.pk)).content.decode()
    assert "HTTP 500" in page and "answer 500" in page
