"""The SSRF guard: every non-public target is refused before any connection is made."""

from __future__ import annotations

import socket

import pytest
from notifications.errors import UnsafeTarget
from notifications.ssrf import address_problem, webhook_target

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
