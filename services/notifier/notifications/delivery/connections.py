"""Connections kept open to webhook receivers (HTTP keep-alive), so that a webhook to a receiver that has just
had one skips the TCP and TLS handshakes.

Connections are kept per address the SSRF guard checked (with the scheme, port and the name used for Host and
TLS), so a connection is only ever reused for the address a send just checked: a host that now resolves
elsewhere gets connections of its own, after the guard has checked that address. A connection the receiver
closed meanwhile is noticed before use and replaced.

Each receiver keeps up to ``NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY`` idle connections (the most one endpoint
has busy at once), and as many receivers are kept as ``IDLE_KEPT`` allows (32 with the default 16), so a
worker sending to many receivers never holds more than ``IDLE_KEPT`` idle connections, nor file descriptors.
Past a receiver's share (several endpoints at one address, all busy), a connection closes after its webhook:
urllib3's warning that it does ("Connection pool is full") is expected here, and left out of the logs.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import urllib3

from notifications.config import notifier_config
from notifications.delivery.ssrf import Target

#: Idle connections a worker keeps at most, over every receiver: past it, those of the receiver used least
#: recently are closed.
IDLE_KEPT = 512

#: How urllib3's warning that a pool is full, and a connection closes instead of being kept, begins.
POOL_FULL = "Connection pool is full"


class _PoolFullLeftOut(logging.Filter):
    """Leaves urllib3's "Connection pool is full" warnings out: past a receiver's share, by design."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(POOL_FULL)


#: The filter on urllib3's pool logger (tests/notifier/test_deliveries.py checks urllib3 still says so).
POOL_FULL_LEFT_OUT = _PoolFullLeftOut()
logging.getLogger("urllib3.connectionpool").addFilter(POOL_FULL_LEFT_OUT)

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
        evicted = _pools.popitem(last=False)[1] if len(_pools) > max(1, IDLE_KEPT // size) else None
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
