"""Loopback ports for test servers stay out of the range client connections take theirs from."""

from __future__ import annotations

import socket

from devinfra.ports import PORT_FLOOR, ephemeral_start, free_port, port_is_free


def test_ports_are_below_the_ephemeral_range_and_never_repeat():
    ports = [free_port() for _ in range(300)]

    assert len(set(ports)) == len(ports)
    assert all(PORT_FLOOR <= port < ephemeral_start() for port in ports)


def test_a_bound_port_is_not_free():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        taken = sock.getsockname()[1]

        assert not port_is_free(taken)
    assert port_is_free(taken)
