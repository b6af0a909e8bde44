"""A real HTTP receiver on 127.0.0.1 (threaded ``http.server``) that verifies every request with
``standardwebhooks``, and the settings that let webhooks reach it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from portal.webhooks import services


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]  # the secrets that verify it


@dataclass
class Receiver:
    """``mode`` decides the answer: ``ok`` (204), ``500``, ``503`` (Retry-After: ``retry_after``),
    ``429``, ``410``, ``302`` (to ``redirect_to``), ``hang`` (longer than the timeout), ``drop``
    (close the connection without answering)."""

    host: str = "127.0.0.1"
    port: int = 0
    mode: str = "ok"
    retry_after: str = "120"
    redirect_to: str = "http://127.0.0.1:9/elsewhere"
    hang_seconds: float = 3.0
    secrets: list[str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                    except (WebhookVerificationError, ValueError):
                        continue
                    verified.append(secret)
                receiver.requests.append(Received(self.path, headers, body, verified))
                mode = receiver.mode
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if mode == "hang":
                    time.sleep(receiver.hang_seconds)
                status = {"ok": 204, "500": 500, "503": 503, "429": 429, "410": 410, "302": 302}
                code = status.get(mode, 200)
                text = b"" if code == 204 else f"answer {code} ".encode() * 400  # > 2 KB
                self.send_response(code)
                if code in (503, 429):
                    self.send_header("Retry-After", receiver.retry_after)
                if code == 302:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                if text:
                    self.wfile.write(text)

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def verified(self) -> list[Received]:
        return [r for r in self.requests if r.verified_with]


@pytest.fixture
def local_networks(settings):
    """Webhooks may reach 127.0.0.1 (and only it) in these tests; a 1 s timeout."""
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0


@pytest.fixture
def receiver(local_networks):
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def make_endpoint(acme, alice):
    """``make_endpoint(url, **fields)`` → (endpoint, secret), made by alice through the service;
    the receiver (if given) learns the secret."""

    def make(url, *, receiver=None, name=None, customer=None, actor=None, **fields):
        endpoint, secret = services.endpoint_create(
            customer=customer or acme,
            actor=actor or alice,
            name=name or f"Hook {url[-20:]}",
            url=url,
            **fields,
        )
        if receiver is not None:
            receiver.secrets.append(secret)
        return endpoint, secret

    return make
