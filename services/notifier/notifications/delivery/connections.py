"""Connections kept open to webhook receivers (HTTP keep-alive), so that a webhook to a receiver that has just
had one skips the TCP and TLS handshakes.

Connections are kept per address the SSRF guard checked (with the scheme, port and the name used for Host and
TLS), so a connection is only ever reused for the address a send just checked: a host that now resolves
elsewhere gets connections of its own, after the guard has checked that address. Each receiver keeps at most
``NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY`` idle connections (the most that can be busy at once); a connection
the receiver closed meanwhile is noticed before use and replaced.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import urllib3

from notifications.config import notifier_config
from notifications.delivery.ssrf import Target

#: Receivers whose connections are kept; past this, those of the receiver used least recently are closed.
RECEIVERS_KEPT = 256

_Key = tuple[str, str, int, str]
_pools: OrderedDict[_Key, urllib3.HTTPConnectionPool] = OrderedDict()
_lock = threading.Lock()


def receiver_pool(target: Target) -> urllib3.HTTPConnectionPool:
    """The connections kept to ``target``'s checked address (made on first use). Never retries, never follows
    a redirect; the caller gives each request its timeout."""
    key = (target.scheme, target.address, target.port, target.host)
    with _lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        size = notifier_config().endpoint_concurrency
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                target.address, target.port, maxsize=size, block=False, retries=False,
                server_hostname=target.host, assert_hostname=target.host,
            )  # fmt: skip
        else:
            pool = urllib3.HTTPConnectionPool(target.address, target.port, maxsize=size, block=False, retries=False)
        _pools[key] = pool
        evicted = _pools.popitem(last=False)[1] if len(_pools) > RECEIVERS_KEPT else None
    if evicted is not None:
        evicted.close()  # its idle connections now; those in use when they come back
    return pool


def receiver_pools_close() -> None:
    """Close every kept connection (for tests: a process's own close when it ends)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()
