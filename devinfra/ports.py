"""Free loopback ports for the servers that tests and `make production` start.

A port is chosen some time before its server binds it. A port the kernel hands out for ``bind(0)``
comes from the ephemeral range, the same range every outgoing connection (to PostgreSQL, Redis, an
API) takes its local port from, so in that gap a client connection can take it and the server then
fails with "address already in use". Ports are therefore drawn from below the ephemeral range, and
never twice in one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

#: Lowest port handed out (above the registered services most machines run).
PORT_FLOOR = 20000
#: The kernel's ephemeral range, read once; ports are drawn below its start.
LOCAL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Tries before giving up (each try is one bind on loopback).
ATTEMPTS = 200

_given: set[int] = set()


def ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (32768 where it cannot be read)."""
    try:
        return int(LOCAL_PORT_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_is_free(port: int) -> bool:
    """Whether a listening socket can bind ``port`` on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1, free now, outside the ephemeral range, and not handed out before here.

    Raises RuntimeError when no such port is found in ``ATTEMPTS`` tries.
    """
    ceiling = ephemeral_start()
    if ceiling - PORT_FLOOR < ATTEMPTS:
        raise RuntimeError(f"no room below the ephemeral range (starts at {ceiling}) for loopback test ports")
    for _ in range(ATTEMPTS):
        port = random.randrange(PORT_FLOOR, ceiling)
        if port not in _given and port_is_free(port):
            _given.add(port)
            return port
    raise RuntimeError(f"no free loopback port between {PORT_FLOOR} and {ceiling} after {ATTEMPTS} tries")
