"""SSRF protection for webhook deliveries (PRODUCT §6).

A customer chooses the URL we send to, so a URL must never make Payerwatch reach its own network
(databases, the cloud metadata service at 169.254.169.254, …). Checking the URL when it is saved is
not enough: DNS answers change between the check and the request, and a redirect moves elsewhere.
So the real guard is at connect time, for every connection:

1. ``SafeNetworkBackend.connect_tcp`` resolves the host name once (``resolve``);
2. every resolved address must be globally routable (``check_address``): loopback, RFC 1918,
   link-local, CGNAT 100.64/10, ULA fc00::/7, IPv4-mapped/6to4/Teredo forms of those, unspecified,
   multicast, reserved and documentation ranges are refused, unless the address lies in
   ``settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS`` — and the metadata addresses never are;
3. the socket connects to that validated IP (no second lookup), while httpcore keeps the original
   host name for the ``Host`` header and the TLS SNI / certificate check.

Redirects are never followed (``follow_redirects=False`` in ``delivery``), and the client ignores
proxy environment variables (``trust_env=False``), so nothing else opens a connection.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services: never reachable, whatever the allowed networks say.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2")
)
# Not covered by ``is_global`` in every Python version: be explicit.
ALWAYS_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in ("100.64.0.0/10", "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "64:ff9b:1::/48")
)


class AddressNotAllowed(httpcore.ConnectError):
    """The host resolves to an address webhooks may not reach (httpx reports a ConnectError whose
    ``__cause__`` is this)."""


@lru_cache(maxsize=32)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for cidr in cidrs:
        try:  # a malformed entry opens nothing (the system check reports it: webhooks.E002)
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def allowed_networks() -> tuple:
    return _networks(tuple(getattr(settings, "WEBHOOK_ALLOWED_PRIVATE_NETWORKS", ()) or ()))


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped ``::ffff:a.b.c.d``, 6to4, Teredo)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return is_public(embedded)
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_unspecified
        and not any(ip in net for net in ALWAYS_BLOCKED if net.version == ip.version)
    )


def address_refusal(address: str) -> str | None:
    """Why webhooks may not connect to ``address``, or None when they may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    embedded = _embedded_ipv4(ip)
    effective = embedded if embedded is not None else ip
    if effective in METADATA_ADDRESSES or ip in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address and is never allowed"
    if is_public(ip):
        return None
    if any(effective in net for net in allowed_networks() if net.version == effective.version):
        return None
    return f"{address} is not a public address"


def check_address(address: str) -> None:
    reason = address_refusal(address)
    if reason is not None:
        raise AddressNotAllowed(reason)


def resolve(host: str, port: int) -> list[str]:
    """Every address of ``host`` (one DNS lookup). Tests replace this: it is the boundary."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def open_connection(address: str, port: int, **kwargs) -> httpcore.NetworkStream:
    """Open a TCP connection to an already validated IP address (the outermost network call)."""
    return httpcore.SyncBackend().connect_tcp(address, port, **kwargs)


class SafeNetworkBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to validated addresses."""

    def connect_tcp(
        self, host, port, timeout=None, local_address=None, socket_options=None
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        # One refused address refuses the host: an answer mixing public and private addresses is
        # a DNS-rebinding attempt as often as not.
        for address in addresses:
            check_address(address)
        error: Exception | None = None
        for address in addresses:
            try:
                return open_connection(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the next address, as a browser would
                error = exc
            except httpcore.ConnectTimeout as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - never for webhooks
        raise AddressNotAllowed("unix sockets are not allowed")


class SafeTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes through ``SafeNetworkBackend``."""

    def __init__(self, *, max_connections: int = 20, keepalive: int = 10) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=keepalive,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=SafeNetworkBackend(),
        )


def safe_client(*, timeout: float | None = None, max_connections: int = 20) -> httpx.Client:
    """The client every delivery uses: SSRF-safe transport, no redirects, no proxies from env."""
    seconds = settings.WEBHOOK_TIMEOUT_SECONDS if timeout is None else timeout
    return httpx.Client(
        transport=SafeTransport(max_connections=max_connections),
        timeout=httpx.Timeout(seconds),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": "Payerwatch-Webhooks/1.0"},
    )


def _is_localhost(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def validate_url(url: str) -> str:
    """A clear error for URLs that can never be delivered to (the endpoint form and the API).
    Host names are not resolved here: the connect-time check is the guard."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"This is not a valid URL ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("Use an http:// or https:// URL.")
    if not parts.hostname:
        raise ValueError("The URL has no host name.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("Do not put credentials in the URL; verify the signature instead.")
    if port == 0:
        raise ValueError("The URL's port is not valid.")
    if parts.fragment:
        raise ValueError("A webhook URL cannot have a #fragment.")
    try:
        ipaddress.ip_address(parts.hostname.split("%", 1)[0])
    except ValueError:
        host_is_ip = False
    else:
        host_is_ip = True
    if host_is_ip:
        reason = address_refusal(parts.hostname)
        if reason is not None:
            raise ValueError(f"Webhooks cannot be sent there: {reason}.")
    elif _is_localhost(parts.hostname) and not allowed_networks():
        raise ValueError("Webhooks cannot be sent to localhost.")
    return url
