"""Where notifications may go: the one rule both services apply to webhook URLs and e-mail addresses.

The projects service refuses at write time what can be decided without DNS (scheme, credentials,
port, a literal address that is not public, a ``localhost`` name); the notifier applies the same
rule and then resolves the host and checks every address it resolves to (``notifications.delivery.ssrf``).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

#: An IP address of either version.
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The well-known NAT64 prefix (RFC 6052): the IPv4 address is the last 32 bits.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")

#: Ranges refused on top of what ``ipaddress`` calls non-global, each with why and where it is defined.
#: The IANA registries are the IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890); a range is
#: listed here when Python's ``ipaddress`` does not already treat it as private, reserved or non-global
#: in every supported version, or when it is a provider's internal endpoint.
REFUSED_RANGES: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, str], ...] = (
    (ipaddress.IPv4Network("0.0.0.0/8"), "this network", "IANA IPv4 special-purpose registry, RFC 791"),
    (ipaddress.IPv4Network("100.64.0.0/10"), "carrier-grade NAT", "IANA IPv4 special-purpose registry, RFC 6598"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "link-local, cloud metadata (169.254.169.254)",
     "IANA IPv4 special-purpose registry, RFC 3927"),
    (ipaddress.IPv4Network("192.0.0.0/24"), "IETF protocol assignments",
     "IANA IPv4 special-purpose registry, RFC 6890"),
    (ipaddress.IPv4Network("198.18.0.0/15"), "benchmarking", "IANA IPv4 special-purpose registry, RFC 2544"),
    (ipaddress.IPv4Network("168.63.129.16/32"), "Azure platform endpoint (WireServer, DNS, health probes)",
     "Microsoft Azure documentation, 'What is IP address 168.63.129.16?'"),
    (ipaddress.IPv6Network("fd00:ec2::254/128"), "AWS instance metadata over IPv6", "AWS EC2 documentation"),
    (ipaddress.IPv6Network("fec0::/10"), "site-local (deprecated)", "RFC 3879; IANA IPv6 address space"),
    (ipaddress.IPv6Network("3fff::/20"), "documentation", "IANA IPv6 special-purpose registry, RFC 9637"),
    (ipaddress.IPv6Network("2001:db8::/32"), "documentation", "IANA IPv6 special-purpose registry, RFC 3849"),
    (ipaddress.IPv6Network("64:ff9b:1::/48"), "local-use NAT64 prefix (translates to any IPv4 address, at a "
     "position RFC 6052 lets the operator choose)", "IANA IPv6 special-purpose registry, RFC 8215"),
)  # fmt: skip


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(raw: str, *, allow_loopback: bool = False) -> str | None:
    """Why ``raw`` (an IP address) may not be contacted, or None when it is public."""
    address: Address = ipaddress.ip_address(raw.split("%", maxsplit=1)[0])
    for network, reason, _source in REFUSED_RANGES:
        if network.version == address.version and address in network:
            return f"refused range {network}: {reason}"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(str(embedded), allow_loopback=allow_loopback)
            return f"embeds {embedded}: {problem}" if problem else None
    if address.is_loopback:
        return None if allow_loopback else "loopback address"
    if address.is_multicast:
        return "multicast address"
    if address.is_private:
        return "private address"
    if address.is_link_local:
        return "link-local address"
    if address.is_reserved or address.is_unspecified or not address.is_global:
        return "reserved address"
    return None


def _literal(host: str) -> str | None:
    """``host`` as an IP address when it is one (an IPv6 zone dropped), else None."""
    try:
        return str(ipaddress.ip_address(host.split("%", maxsplit=1)[0]))
    except ValueError:
        return None


def _local_name(host: str) -> bool:
    """``localhost`` and its subdomains (RFC 6761): loopback whatever DNS says."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def webhook_url_problem(url: str, *, allow_loopback: bool = False) -> str | None:
    """Why ``url`` can never be a webhook target, as far as can be told without DNS; None otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme!r} is not http or https"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not allowed"
    host = parts.hostname
    if not host:
        return "no host"
    try:
        port = parts.port
    except ValueError:
        return "invalid port"
    if port == 0:
        return "invalid port"
    literal = _literal(host)
    if literal is not None:
        problem = address_problem(literal, allow_loopback=allow_loopback)
        return f"{host}: {problem}" if problem else None
    if _local_name(host) and not allow_loopback:
        return f"{host} is a loopback name"
    return None


def email_address_problem(address: str) -> str | None:
    """Why ``address`` (already a syntactically valid e-mail address) can never be delivered to from the
    notifier, or None: a ``localhost`` domain or an IP-literal domain (``a@[10.0.0.1]``, ``a@127.0.0.1``)."""
    domain = address.rpartition("@")[2].strip()
    if _local_name(domain):
        return f"the domain {domain} is this machine"
    if (domain.startswith("[") and domain.endswith("]")) or _literal(domain) is not None:
        return "an IP-literal domain is not accepted; name the mail domain"
    return None
