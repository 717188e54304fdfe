"""Deciding whether a webhook target may be contacted: only public addresses, checked after resolution.

What can be decided without DNS is ``codegen_contracts.targets`` (the rule the projects service applies
when a webhook URL is stored); this adds the resolution and checks every address the host resolves to.

The host is resolved once, every address it resolves to must be public, and the connection is
made to the address that was checked (no second lookup an attacker could answer differently).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from codegen_contracts.targets import REFUSED_RANGES, address_problem, webhook_url_problem
from notifications.errors import UnsafeTarget

__all__ = ["REFUSED_RANGES", "Target", "address_problem", "webhook_target"]


@dataclass(frozen=True)
class Target:
    """A validated webhook target: where to connect, and what to call it (Host, TLS name)."""

    scheme: str
    host: str
    address: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        """The ``Host`` header (RFC 9110 §7.2): an IPv6 literal in brackets, the port unless the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def webhook_target(url: str, *, allow_loopback: bool = False) -> Target:
    """Resolve and check ``url``; raise UnsafeTarget saying why it may not be contacted."""
    problem = webhook_url_problem(url, allow_loopback=allow_loopback)
    if problem:
        raise UnsafeTarget(problem)
    parts = urlsplit(url)
    host = parts.hostname
    assert host is not None  # webhook_url_problem refuses a URL without one
    port = parts.port or (443 if parts.scheme == "https" else 80)
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
