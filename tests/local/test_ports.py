"""Free ports for private stacks come from below the kernel's ephemeral range, so no process's
`bind(0)` or outgoing connection can take one between our choice and our bind."""

from __future__ import annotations

import socket

from oms.local.ports import ephemeral_range, free_port, port_free


def test_free_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    low, high = ephemeral_range()
    assert 1024 < low < high

    ports = [free_port() for _ in range(50)]

    assert len(set(ports)) == 50
    assert all(port < low for port in ports)
    assert all(port_free("127.0.0.1", port) for port in ports)


def test_a_port_someone_listens_on_is_not_free() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        assert not port_free("127.0.0.1", taken.getsockname()[1])
