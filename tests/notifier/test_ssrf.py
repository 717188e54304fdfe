"""The SSRF guard: every non-public target is refused before any connection is made."""

from __future__ import annotations

import socket

import pytest

from notifications.delivery.ssrf import REFUSED_RANGES, address_problem, webhook_target
from notifications.errors import UnsafeTarget

REFUSED = [
    "http://127.0.0.1/hook",
    "http://localhost/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0177.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://10.0.0.8/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://198.18.0.1/hook",
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[fd00:ec2::254]/hook",
    "http://[ff02::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[64:ff9b::a00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[2002:a9fe:a9fe::]/hook",
    "http://[::127.0.0.1]/hook",
    "http://168.63.129.16/machine",  # Azure's platform endpoint
    "http://[fec0::1]/hook",  # site-local
    "http://[3fff::1]/hook",  # documentation (RFC 9637)
    "http://[2001:db8::1]/hook",  # documentation (RFC 3849)
    "http://[64:ff9b:1::a00:1]/hook",  # local-use NAT64, IPv4 in the last 32 bits
    "http://[64:ff9b:1:7f00:1::]/hook",  # local-use NAT64, 127.0.0.1 where RFC 6052's /48 layout puts it
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "http://user:pw@example.com/hook",
    "http://no-such-host.invalid/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_targets_are_refused_without_connecting(url, monkeypatch):
    connections = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connections.append(address))
    with pytest.raises(UnsafeTarget):
        webhook_target(url)
    assert connections == []


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_pass(address):
    assert address_problem(address) is None


def test_loopback_only_when_allowed_explicitly():
    assert address_problem("127.0.0.1") == "loopback address"
    assert address_problem("127.0.0.1", allow_loopback=True) is None
    assert address_problem("::ffff:127.0.0.1", allow_loopback=True) is None
    assert address_problem("10.0.0.1", allow_loopback=True) == "private address"


def test_target_keeps_the_checked_address_and_the_host_name():
    target = webhook_target("http://127.0.0.1:8123/a/b?x=1", allow_loopback=True)
    assert (target.address, target.port, target.path, target.host) == ("127.0.0.1", 8123, "/a/b?x=1", "127.0.0.1")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("168.63.129.16", "Azure platform endpoint"),
        ("fec0::1", "site-local"),
        ("3fff::1", "documentation"),
        ("64:ff9b:1:7f00:1::", "local-use NAT64"),
        ("169.254.169.254", "cloud metadata"),
    ],
)
def test_refused_ranges_name_themselves(address, reason):
    assert reason in address_problem(address)


def test_every_refused_range_says_why_and_where_it_is_defined():
    assert all(reason and source for _, reason, source in REFUSED_RANGES)
    assert len({network for network, _, _ in REFUSED_RANGES}) == len(REFUSED_RANGES)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://[::ffff:127.0.0.1]:18001/x", "[::ffff:127.0.0.1]:18001"),
        ("http://[::ffff:127.0.0.1]/x", "[::ffff:127.0.0.1]"),
        ("https://[::ffff:127.0.0.1]:443/x", "[::ffff:127.0.0.1]"),
        ("http://127.0.0.1:443/x", "127.0.0.1:443"),
        ("http://localhost:8080/x", "localhost:8080"),
    ],
)
def test_the_host_header_brackets_ipv6_literals_and_omits_only_the_default_port(url, host):
    assert webhook_target(url, allow_loopback=True).host_header == host
