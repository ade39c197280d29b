"""Ports of the local stack: free ones for private stacks, and a clear error for a busy one."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from oms.local.errors import StackError

LOWEST = 10000
_handed_out: set[int] = set()


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel gives to `bind(0)` and outgoing connections (Linux; else IANA's)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49152, 65535


def free_port(host: str = "127.0.0.1") -> int:
    """A free port below the ephemeral range: a port from `bind(0)` is one the kernel may hand
    to another process (the Temporal dev server's own listeners, any outgoing connection) before
    ours binds it, which made a stack's emulator fail "address in use" now and then."""
    low = ephemeral_range()[0]
    for _ in range(200 if low > LOWEST + 1000 else 0):
        port = random.randrange(LOWEST, low)  # noqa: S311 - not a secret
        if port not in _handed_out and port_free(host, port):
            _handed_out.add(port)
            return port
    with socket.socket() as sock:  # a crowded range: what the kernel offers
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def check_ports_free(host: str, ports: dict[str, int]) -> None:
    for option, port in ports.items():
        if not port_free(host, port):
            raise StackError(
                f"port {port} is in use; stop what uses it or choose another with {option}"
                " (is another `oms dev` running?)",
                exit_code=2,
            )


def preferred_or_free(host: str, preferred: int) -> int:
    """`preferred` when nothing listens there, else any free port (for a port nobody types)."""
    return preferred if port_free(host, preferred) else free_port(host)
