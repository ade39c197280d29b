"""Ports of the local stack: free ones for private stacks, and a clear error for a busy one."""

from __future__ import annotations

import socket

from oms.local.errors import StackError


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
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
