"""Errors of the embedded local stack, reported by the CLI as one line."""

from __future__ import annotations


class StackError(Exception):
    """The local stack could not start or keep running (a child died, a port is taken)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class DemoStalledError(StackError):
    """The demo cannot progress (a process of the stack exited, orders dead-lettered, or its
    deadline passed); the message says why."""
