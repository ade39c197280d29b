"""`main(argv) -> exit code` for the `python -m ...` entry points built with typer.

typer exits the process itself; these entry points return their code instead, so callers
choose how to exit (`os._exit` after temporalio, sdk-python#300) and tests call `main([...])`
directly. A usage error prints typer's message and returns 2, as argparse did.
"""

from __future__ import annotations

from collections.abc import Sequence

import typer
from typer.exceptions import TyperException


def run_app(app: typer.Typer, argv: Sequence[str] | None, *, prog_name: str) -> int:
    command = typer.main.get_command(app)
    try:
        # Without standalone mode the command's return value (its exit code) comes back.
        result = command.main(
            args=list(argv) if argv is not None else None,
            prog_name=prog_name,
            standalone_mode=False,
        )
    except TyperException as exc:  # usage errors (2), Exit(code), Abort (1)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return int(getattr(exc, "exit_code", 1))
    return result if isinstance(result, int) else 0
