"""The webhook resources of the API (PRODUCT §6, §9): CRUD, test, rotate, messages, replay."""

import pytest
from django.core.cache import cache
from standardwebhooks import Webhook

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.webhooks import services
from portal.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage
from tests.api.test_auth import assert_error

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhook-endpoints/"
MESSAGES = "/api/v1/webhook-messages/"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.fixture
def endpoint(acme, alice):
    endpoint, _ = services.endpoint_create(
        customer=acme, actor=alice, name="Ops", url="https://hooks.example.com/in"
    )
    return endpoint


def dead_message(acme, endpoint, key="k"):
    (message,) = services.messages_write(
        customer=acme, event_type="webhook.test", data={}, event_key=key, endpoint_ids=[endpoint.pk]
    )
    WebhookMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.DEAD, next_attempt_at=None
    )
    return message


def test_admin_creates_an_endpoint_and_gets_the_secret_once(bearer, acme, alice):
    api = bearer(alice, acme, "write")
    response = api.post(
        ENDPOINTS,
        {"name": "WH", "url": "https://hooks.example.com/x", "event_types": ["upload.completed"]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["upload.completed"]
    Webhook(body["secret"])  # a usable Standard Webhooks secret
    detail = api.get(f"{ENDPOINTS}{body['id']}/").json()
    assert "secret" not in detail and detail["name"] == "WH"
    assert "secret" not in api.get(ENDPOINTS).json()["results"][0]


def test_a_taken_name_is_a_conflict_on_the_name(bearer, acme, alice, endpoint):
    body = assert_error(
        bearer(alice, acme, "write").post(ENDPOINTS, {"name": "ops", "url": "https://x.example/"}),
        400,
        "conflict",
    )
    assert body["errors"][0]["attr"] == "name"


def test_a_private_url_is_refused_with_a_reason(bearer, acme, alice, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    body = assert_error(
        bearer(alice, acme, "write").post(ENDPOINTS, {"name": "X", "url": "http://10.0.0.1/"}),
        400,
        "invalid",
    )
    assert body["errors"][0]["attr"] == "url" and "public" in body["errors"][0]["detail"]


def test_an_unknown_event_type_is_a_validation_error(bearer, acme, alice):
    response = bearer(alice, acme, "write").post(
        ENDPOINTS, {"name": "X", "url": "https://x.example/", "event_types": ["claim.viewed"]}
    )
    assert_error(response, 400)


def test_patch_changes_and_disables_then_delete(bearer, acme, alice, endpoint):
    api = bearer(alice, acme, "write")
    response = api.patch(f"{ENDPOINTS}{endpoint.pk}/", {"name": "Ops 2", "enabled": False})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Ops 2" and response.json()["enabled"] is False
    assert api.patch(f"{ENDPOINTS}{endpoint.pk}/", {"enabled": True}).json()["enabled"] is True
    assert api.delete(f"{ENDPOINTS}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_send_test_queues_a_test_message(bearer, acme, alice, endpoint):
    response = bearer(alice, acme, "write").post(f"{ENDPOINTS}{endpoint.pk}/test/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["event_type"] == "webhook.test" and body["webhook_id"].startswith("msg_")
    assert AuditEvent.objects.filter(action=Action.WEBHOOK_TEST_REQUESTED, actor=alice).exists()


def test_send_test_to_a_disabled_endpoint_is_a_conflict(bearer, acme, alice, endpoint):
    services.endpoint_disable(endpoint=endpoint, actor=alice)
    assert_error(
        bearer(alice, acme, "write").post(f"{ENDPOINTS}{endpoint.pk}/test/"), 400, "conflict"
    )


def test_rotate_secret_returns_the_new_secret(bearer, acme, alice, endpoint):
    response = bearer(alice, acme, "write").post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/")
    assert response.status_code == 200
    assert response.json()["secret"] == endpoint.secrets.get(expires_at__isnull=True).secret
    assert endpoint.secrets.count() == 2


def test_messages_of_an_endpoint_are_paginated_and_filtered(bearer, acme, alice, endpoint):
    for n in range(5):
        services.messages_write(
            customer=acme, event_type="webhook.test", data={}, event_key=f"k{n}",
            endpoint_ids=[endpoint.pk],
        )  # fmt: skip
    dead_message(acme, endpoint, key="dead")
    api = bearer(alice, acme)
    page = api.get(f"{ENDPOINTS}{endpoint.pk}/messages/", {"page_size": 2}).json()
    assert page["count"] == 6 and len(page["results"]) == 2 and page["next"]
    dead = api.get(f"{ENDPOINTS}{endpoint.pk}/messages/", {"status": "dead"}).json()
    assert [m["status"] for m in dead["results"]] == ["dead"]
    assert api.get(MESSAGES, {"page_size": 200}).json()["count"] == 6


def test_message_detail_has_payload_and_attempts(bearer, acme, alice, endpoint):
    message = dead_message(acme, endpoint)
    body = bearer(alice, acme).get(f"{MESSAGES}{message.pk}/").json()
    assert body["webhook_id"] == message.webhook_id and body["payload"] == message.payload
    assert body["attempt_history"] == []


def test_replay_keeps_the_webhook_id(bearer, acme, alice, endpoint):
    message = dead_message(acme, endpoint)
    response = bearer(alice, acme, "write").post(f"{MESSAGES}{message.pk}/replay/")
    assert response.status_code == 202, response.content
    assert response.json()["webhook_id"] == message.webhook_id
    assert response.json()["status"] == "pending"
    assert_error(
        bearer(alice, acme, "write").post(f"{MESSAGES}{message.pk}/replay/"), 400, "conflict"
    )


def test_viewer_reads_but_cannot_write(bearer, acme, bob, endpoint):
    message = dead_message(acme, endpoint)
    api = bearer(bob, acme, "write")
    assert api.get(ENDPOINTS).status_code == 200
    assert api.get(f"{ENDPOINTS}{endpoint.pk}/messages/").status_code == 200
    assert_error(api.post(ENDPOINTS, {"name": "X", "url": "https://x.example/"}), 403)
    assert_error(api.post(f"{ENDPOINTS}{endpoint.pk}/test/"), 403)
    assert_error(api.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/"), 403)
    assert_error(api.patch(f"{ENDPOINTS}{endpoint.pk}/", {"enabled": False}), 403)
    assert_error(api.delete(f"{ENDPOINTS}{endpoint.pk}/"), 403)
    assert_error(api.post(f"{MESSAGES}{message.pk}/replay/"), 403)


def test_a_read_token_cannot_write_even_for_an_admin(bearer, acme, alice, endpoint):
    api = bearer(alice, acme, "read")
    assert_error(api.post(f"{ENDPOINTS}{endpoint.pk}/test/"), 403)
    assert api.get(f"{ENDPOINTS}{endpoint.pk}/").status_code == 200


def test_charlie_gets_404_on_acme_objects(bearer, globex, charlie, acme, endpoint):
    message = dead_message(acme, endpoint)
    api = bearer(charlie, globex, "write")
    assert api.get(ENDPOINTS).json()["count"] == 0
    for response in [
        api.get(f"{ENDPOINTS}{endpoint.pk}/"),
        api.get(f"{ENDPOINTS}{endpoint.pk}/messages/"),
        api.post(f"{ENDPOINTS}{endpoint.pk}/test/"),
        api.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/"),
        api.patch(f"{ENDPOINTS}{endpoint.pk}/", {"enabled": False}),
        api.delete(f"{ENDPOINTS}{endpoint.pk}/"),
        api.get(f"{MESSAGES}{message.pk}/"),
        api.post(f"{MESSAGES}{message.pk}/replay/"),
    ]:
        assert_error(response, 404)
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()


def test_writes_are_throttled(bearer, acme, alice, endpoint, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "webhooks": "2/hour",
        },
    }
    api = bearer(alice, acme, "write")
    assert api.post(f"{ENDPOINTS}{endpoint.pk}/test/").status_code == 202
    assert api.post(f"{ENDPOINTS}{endpoint.pk}/test/").status_code == 202
    response = api.post(f"{ENDPOINTS}{endpoint.pk}/test/")
    assert_error(response, 429)
    assert response["Retry-After"]
