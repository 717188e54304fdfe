"""Deciding whether a webhook target may be contacted: only public addresses, checked after resolution.

The host is resolved once, every address it resolves to must be public, and the connection is
made to the address that was checked (no second lookup an attacker could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from notifications.errors import UnsafeTarget

#: Prefixes that embed an IPv4 address in IPv6 (NAT64 well-known and local-use).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
#: Ranges refused on top of what ``ipaddress`` calls non-global.
_REFUSED = (
    ipaddress.IPv4Network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.IPv4Network("169.254.0.0/16"),  # link-local, cloud metadata (169.254.169.254)
    ipaddress.IPv4Network("0.0.0.0/8"),
    ipaddress.IPv4Network("192.0.0.0/24"),
    ipaddress.IPv4Network("198.18.0.0/15"),
    ipaddress.IPv6Network("fd00:ec2::254/128"),  # AWS metadata over IPv6
)


@dataclass(frozen=True)
class Target:
    """A validated webhook target: where to connect, and what to call it (Host, TLS name)."""

    scheme: str
    host: str
    address: str
    port: int
    path: str


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(raw: str, *, allow_loopback: bool = False) -> str | None:
    """Why ``raw`` (an IP address) may not be contacted, or None when it is public."""
    address = ipaddress.ip_address(raw.split("%", maxsplit=1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(str(embedded), allow_loopback=allow_loopback)
            return f"embeds {embedded}: {problem}" if problem else None
    if address.is_loopback:
        return None if allow_loopback else "loopback address"
    if any(address in network for network in _REFUSED if network.version == address.version):
        return "reserved or metadata address"
    if address.is_multicast:
        return "multicast address"
    if address.is_private:
        return "private address"
    if address.is_link_local:
        return "link-local address"
    if address.is_reserved or address.is_unspecified or not address.is_global:
        return "reserved address"
    return None


def webhook_target(url: str, *, allow_loopback: bool = False) -> Target:
    """Resolve and check ``url``; raise UnsafeTarget saying why it may not be contacted."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"scheme {parts.scheme!r} is not http or https")
    if parts.username or parts.password:
        raise UnsafeTarget("credentials in the URL are not allowed")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeTarget("invalid port") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc}") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        problem = address_problem(address, allow_loopback=allow_loopback)
        if problem:
            raise UnsafeTarget(f"{host} resolves to {address}: {problem}")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, address=addresses[0], port=port, path=path)
