"""Several workers never send the same attempt twice; a real qcluster delivers (PRODUCT §6)."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from portal.webhooks import delivery, services
from portal.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage, WebhookSecret
from tests.core.test_task_queue import database_url

ROOT = Path(settings.BASE_DIR)


def endpoint_for(customer, url="https://hooks.example.com/in"):
    endpoint = WebhookEndpoint.objects.create(customer=customer, name="Hook", url=url)
    WebhookSecret.objects.create(customer=customer, endpoint=endpoint, secret="whsec_" + "B" * 32)
    return endpoint


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claimers_never_claim_the_same_message(acme):
    endpoint_for(acme)
    for n in range(120):
        services.messages_write(
            customer=acme,
            event_type="webhook.test",
            data={"n": n},
            event_key=f"k{n}",
            endpoint_ids=[WebhookEndpoint.objects.get().pk],
        )
    now = timezone.now()
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def worker(name):
        try:
            start.wait()
            while True:
                batch = delivery.claim(now=now, limit=7)
                if not batch:
                    return
                claimed[name].extend(c.message_id for c in batch)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=worker, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    a, b = set(claimed["a"]), set(claimed["b"])
    assert len(claimed["a"]) == len(a) and len(claimed["b"]) == len(b)
    assert a.isdisjoint(b)
    assert a | b == set(WebhookMessage.objects.values_list("pk", flat=True))
    assert a and b, "both workers should have claimed some"


@pytest.mark.django_db(transaction=True)
def test_a_claim_is_skipped_while_another_transaction_holds_the_row(acme):
    """SKIP LOCKED: a claimer does not wait for (or take) a row locked by another claimer."""
    endpoint = endpoint_for(acme)
    services.messages_write(
        customer=acme, event_type="webhook.test", data={}, event_key="k", endpoint_ids=[endpoint.pk]
    )
    seen = []
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                list(WebhookMessage.objects.select_for_update())
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    locked.wait(10)
    started = time.monotonic()
    seen.extend(delivery.claim(now=timezone.now()))
    waited = time.monotonic() - started
    release.set()
    thread.join(10)
    assert seen == [] and waited < 2
    assert len(delivery.claim(now=timezone.now())) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_delivers_to_the_receiver(acme, alice, receiver):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "Q_WORKERS": "1",
        "Q_SYNC": "false",
        "WEBHOOK_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1/32",
        "WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION": "true",  # the check's documented override
    }
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _, secret = services.endpoint_create(
            customer=acme, actor=alice, name="Worker hook", url=receiver.url
        )
        receiver.secrets.append(secret)
        with transaction.atomic():
            (message,) = services.message_emit(
                customer=acme, event_type="upload.completed", data={"upload_id": 7}, event_key="u7"
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not receiver.requests:
            time.sleep(0.2)
        assert receiver.verified, "the worker did not deliver within 60 s"
        assert receiver.verified[0].headers["webhook-id"] == message.webhook_id
        while time.monotonic() < deadline:
            message.refresh_from_db()
            if message.status != MessageStatus.PENDING:
                break
            time.sleep(0.2)
        assert message.status == MessageStatus.SUCCEEDED and message.attempts == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert worker.returncode == 0, worker.stdout.read()
