"""Errors reported to a person as one line with an exit code (CLI, local stack)."""

from __future__ import annotations


class CliError(Exception):
    """A user-facing failure: printed as `error: <message>`, exit code 1 (2 for bad input)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
