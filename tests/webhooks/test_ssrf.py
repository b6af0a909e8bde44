"""SSRF (PRODUCT §6): the address actually connected to must be public unless an allowed private
network covers it; the metadata address never is. DNS is mocked (the outermost boundary)."""

import httpx
import pytest
from django.core.checks import run_checks
from django.utils import timezone

from portal.core.exceptions import DomainError
from portal.webhooks import delivery, services, transport
from portal.webhooks.models import AttemptOutcome, WebhookEndpoint, WebhookMessage, WebhookSecret
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    """A receiver on 127.0.0.1 that must stay unreached."""
    server = Receiver().start()
    yield server
    server.stop()


def refused(url: str) -> transport.AddressNotAllowed:
    with transport.safe_client(timeout=2) as client, pytest.raises(httpx.ConnectError) as info:
        client.post(url, content=b"{}")
    assert isinstance(info.value.__cause__, transport.AddressNotAllowed), info.value
    return info.value.__cause__


@pytest.fixture
def no_connect(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError(f"connected to {args}")

    monkeypatch.setattr(transport, "open_connection", fail)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "169.254.1.1",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1", "198.18.0.1",
        "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::a00:1", "192.0.2.1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(settings, address):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    assert transport.address_refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(settings, address):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    assert transport.address_refusal(address) is None


def test_loopback_is_refused_at_connect_time(settings, listener):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    assert "not a public address" in str(refused(listener.url))
    assert listener.requests == []


def test_loopback_is_reached_when_its_network_is_allowed(settings, listener):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1/32"]
    with transport.safe_client(timeout=2) as client:
        assert client.post(listener.url, content=b"{}").status_code == 204
    assert len(listener.requests) == 1


def test_ipv4_mapped_loopback_is_refused(settings, listener):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    refused(f"http://[::ffff:127.0.0.1]:{listener.port}/hooks")
    assert listener.requests == []


def test_metadata_address_is_refused_even_when_its_network_is_allowed(settings, no_connect):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["169.254.0.0/16", "0.0.0.0/0"]
    assert "metadata" in str(refused("http://169.254.169.254/latest/meta-data/"))
    refused("http://[::ffff:169.254.169.254]/latest/meta-data/")


def test_a_host_name_resolving_to_a_private_address_is_refused(settings, monkeypatch, no_connect):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    monkeypatch.setattr(transport, "resolve", lambda host, port: ["10.0.0.5"])
    assert "10.0.0.5" in str(refused("https://hooks.customer.example/in"))


def test_a_dns_answer_mixing_public_and_private_addresses_is_refused(
    settings, monkeypatch, no_connect
):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    monkeypatch.setattr(transport, "resolve", lambda host, port: ["93.184.216.34", "127.0.0.1"])
    refused("https://rebind.example/in")


def test_the_host_is_resolved_once_and_the_validated_ip_is_connected_to(
    settings, monkeypatch, listener
):
    """The connection goes to the address that was checked, and Host keeps the name."""
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    lookups, connects = [], []
    monkeypatch.setattr(
        transport, "resolve", lambda host, port: lookups.append(host) or ["93.184.216.34"]
    )
    real_open = transport.open_connection

    def to_listener(address, port, **kwargs):  # the public host is played by the listener
        connects.append(address)
        return real_open("127.0.0.1", listener.port, **kwargs)

    monkeypatch.setattr(transport, "open_connection", to_listener)
    with transport.safe_client(timeout=2) as client:
        assert client.post(f"http://hooks.example.com:{listener.port}/x").status_code == 204
    assert lookups == ["hooks.example.com"] and connects == ["93.184.216.34"]
    assert listener.requests[0].headers["host"] == f"hooks.example.com:{listener.port}"


def test_a_public_url_redirecting_to_a_private_one_reaches_nothing_private(
    acme, settings, monkeypatch, listener
):
    """The 'public' receiver answers 302 to a private address: a failure, not followed."""
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    private = Receiver().start()
    try:
        listener.mode, listener.redirect_to = "302", private.url
        monkeypatch.setattr(transport, "resolve", lambda host, port: ["93.184.216.34"])
        real_open = transport.open_connection
        monkeypatch.setattr(
            transport,
            "open_connection",
            lambda address, port, **kw: real_open("127.0.0.1", listener.port, **kw),
        )
        endpoint = WebhookEndpoint.objects.create(
            customer=acme, name="Public", url=f"http://hooks.example.com:{listener.port}/in"
        )
        WebhookSecret.objects.create(customer=acme, endpoint=endpoint, secret="whsec_" + "A" * 32)
        (message,) = services.message_emit(
            customer=acme, event_type="webhook.test", data={}, event_key="k"
        )
        delivery.deliver_due(now=timezone.now())
        attempt = WebhookMessage.objects.get(pk=message.pk).attempt_set.get()
        assert attempt.outcome == AttemptOutcome.REDIRECT
        assert len(listener.requests) == 1 and private.requests == []
    finally:
        private.stop()


def test_a_refused_address_is_recorded_as_a_refused_attempt(acme, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    endpoint = WebhookEndpoint.objects.create(
        customer=acme, name="Sneaky", url="http://127.0.0.1:9/"
    )
    WebhookSecret.objects.create(customer=acme, endpoint=endpoint, secret="whsec_" + "A" * 32)
    (message,) = services.message_emit(
        customer=acme, event_type="webhook.test", data={}, event_key="k"
    )
    delivery.deliver_due(now=timezone.now())
    attempt = WebhookMessage.objects.get(pk=message.pk).attempt_set.get()
    assert attempt.outcome == AttemptOutcome.REFUSED and "not a public address" in attempt.error


# -- URL validation when the endpoint is saved ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://hooks.example.com/x", "http:// or https://"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("http://127.0.0.1/x", "not a public address"),
        ("http://[::ffff:127.0.0.1]/x", "not a public address"),
        ("http://169.254.169.254/latest", "metadata"),
        ("http://localhost:8000/x", "localhost"),
        ("https:///nohost", "no host"),
        ("not a url", "http:// or https://"),
    ],
)
def test_endpoint_urls_that_can_never_work_are_refused_with_a_reason(
    acme, alice, settings, url, problem
):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    with pytest.raises(DomainError, match=problem) as info:
        services.endpoint_create(customer=acme, actor=alice, name="X", url=url)
    assert info.value.field == "url"


# -- the system check -----------------------------------------------------------------------------


def check_ids():
    return [m.id for m in run_checks() if m.id.startswith("webhooks.")]


def test_private_networks_are_refused_by_a_system_check_in_production(settings):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION = False
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    assert check_ids() == []
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["10.0.0.0/8"]
    assert check_ids() == ["webhooks.E001"]
    settings.WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION = True
    assert check_ids() == []
    settings.WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION = False
    settings.DEBUG = True
    assert check_ids() == []


def test_a_malformed_network_is_a_system_check_error(settings):
    settings.DEBUG = True
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["10.0.0.0/33"]
    assert check_ids() == ["webhooks.E002"]
