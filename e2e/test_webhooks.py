"""An admin adds a webhook endpoint pointing at a local receiver, sends a test and sees it in the
log; the receiver goes away, retries run out and the message is a dead letter; the receiver comes
back, the admin replays it and it is delivered with the same webhook-id (PRODUCT §6, §8)."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from e2e.conftest import login
from portal.webhooks import delivery
from portal.webhooks.models import MessageStatus, WebhookMessage
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    server = Receiver().start()
    yield server
    server.stop()


def test_admin_adds_endpoint_tests_it_loses_a_message_and_replays_it(
    page: Page, live_server, acme, alice, receiver, shot
):
    login(page, alice)
    page.goto("/c/acme/")
    page.locator("nav.mainnav").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhook endpoints of Acme Health")).to_be_visible()
    expect(page.locator("#endpoints-table")).to_contain_text("No webhook endpoints yet.")
    page.get_by_role("link", name="Add endpoint").click()

    form = page.locator("#endpoint-form")
    form.get_by_label("Name").fill("Local receiver")
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("A drift event was found").check()
    form.get_by_role("button", name="Create endpoint").click()
    secret = page.locator("#new-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    shot(page, "secret-shown-once")
    page.get_by_role("link", name="Done").click()

    # a test message goes out at once (the task runs after the commit) and shows in the log
    expect(page.get_by_role("heading", name="Local receiver")).to_be_visible()
    page.get_by_role("button", name="Send test").click()
    expect(page.locator(".messages")).to_contain_text("Test message msg_")
    log = page.locator("#messages-table")
    expect(log).to_contain_text("webhook.test")
    expect(log.locator("[data-status=succeeded]")).to_have_count(1)
    assert len(receiver.verified) == 1
    shot(page, "test-delivered")

    # the receiver goes away: the next test fails, retries run out, it becomes a dead letter
    port = receiver.port
    receiver.stop()
    page.get_by_role("button", name="Send test").click()
    expect(log.locator("[data-status=pending]")).to_have_count(1)
    failing = WebhookMessage.objects.get(status=MessageStatus.PENDING)
    for _ in range(delivery.MAX_RETRIES):  # fast-forward each retry
        WebhookMessage.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())
        assert delivery.deliver_due() == 1
    failing.refresh_from_db()
    assert failing.status == MessageStatus.DEAD and failing.attempts == 6
    page.reload()
    expect(log.locator("[data-status=dead]")).to_have_count(1)
    expect(page.locator("#dead-count")).to_have_text("1")
    shot(page, "dead-letter")

    page.get_by_role("link", name=failing.webhook_id).click()
    attempts = page.locator("#attempts-table tbody tr")
    expect(attempts).to_have_count(6)
    expect(attempts.first).to_contain_text("Network error")
    shot(page, "attempts")

    # the receiver is back: replay the dead letters, delivered with the same webhook-id
    back = Receiver(port=port, secrets=[secret]).start()
    try:
        page.get_by_role("link", name="Local receiver").click()
        page.get_by_role("button", name="Replay all dead").click()
        expect(page.locator(".messages")).to_contain_text("1 dead message replayed")
        expect(log.locator("[data-status=succeeded]")).to_have_count(2)
        assert [r.headers["webhook-id"] for r in back.verified] == [failing.webhook_id]
        page.goto("/c/acme/webhooks/dead/")
        expect(page.locator("#dead-table")).to_contain_text(re.compile("No dead messages"))
        shot(page, "replayed")
    finally:
        back.stop()
