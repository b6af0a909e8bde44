"""The webhook delivery benchmark (PRODUCT §12: one worker delivers ≥ 50 messages/s to a local
receiver).

1. A threaded stdlib HTTP receiver on 127.0.0.1 verifies every request's signature
   (``standardwebhooks``) and answers 204.
2. A scratch customer gets one endpoint pointing at it, and ``messages`` outbox rows
   (``services.messages_write``, no task queue).
3. One process delivers them exactly as a worker does (``delivery.deliver_due`` in a loop: claim
   with SKIP LOCKED, sign, send over a reused connection pool, record the attempt, audit).
4. Reported: messages per second, and that every request verified.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import transaction
from django.test.utils import override_settings
from standardwebhooks import Webhook


class _Receiver:
    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.verified = 0
        self.rejected = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                try:
                    receiver.webhook.verify(body, dict(self.headers.items()))
                    ok = True
                except Exception:  # verification error, or ValueError for a malformed header
                    ok = False
                with receiver.lock:
                    if ok:
                        receiver.verified += 1
                    else:
                        receiver.rejected += 1
                self.send_response(204 if ok else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run(*, messages: int, echo=print) -> dict:
    from portal.accounts.models import Customer
    from portal.webhooks import delivery, services, transport
    from portal.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage

    customer, _ = Customer.objects.get_or_create(
        slug="benchmark-webhooks", defaults={"name": "Benchmark webhooks (scratch)"}
    )
    WebhookEndpoint.objects.filter(customer=customer).delete()
    with override_settings(WEBHOOK_ALLOWED_PRIVATE_NETWORKS=["127.0.0.1/32"]):
        endpoint, secret = services.endpoint_create(
            customer=customer, actor=None, name="Local receiver", url="http://127.0.0.1/"
        )
        receiver = _Receiver(secret)
        try:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
            echo(f"writing {messages:,} messages …")
            with transaction.atomic():
                for n in range(messages):
                    services.messages_write(
                        customer=customer,
                        event_type="drift_event.created",
                        data={"drift_event_id": n, "severity": 0.5},
                        event_key=f"benchmark:{n}",
                        endpoint_ids=[endpoint.pk],
                    )
            echo("delivering …")
            started = time.perf_counter()
            with transport.safe_client(max_connections=delivery.SEND_THREADS) as client:
                while delivery.deliver_due(client=client):
                    pass
            seconds = time.perf_counter() - started
        finally:
            receiver.stop()
    delivered = WebhookMessage.objects.filter(
        endpoint=endpoint, status=MessageStatus.SUCCEEDED
    ).count()
    WebhookEndpoint.objects.filter(customer=customer).delete()
    rate = delivered / seconds if seconds else 0.0
    return {
        "messages": messages,
        "delivered": delivered,
        "verified_by_receiver": receiver.verified,
        "rejected_by_receiver": receiver.rejected,
        "seconds": round(seconds, 3),
        "messages_per_second": round(rate, 1),
        "send_threads": delivery.SEND_THREADS,
        "targets": {"messages_per_second_min": 50},
    }
