"""`oms`: one command for local use and for operators (typer + rich).

Every command reads `.oms/local.env` (written by `oms dev`, removed when it stops) when
present, so a second terminal talks to the running local stack; otherwise the environment.
Errors are one line on stderr (`error: ...`), never a traceback: exit 2 for bad input (an
option, an argument, a setting), 1 for everything else.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from rich.markup import escape
from typer import Abort
from typer.exceptions import TyperException

from oms.cli.app import app, err_console
from oms.cli.errors import CliError
from oms.config import SettingsError
from oms.local.env_file import read_env_file
from oms.local.errors import StackError
from oms.local.signals import Interrupted

LOCAL_ENV = Path(".oms") / "local.env"
# These build their own stack: another stack's addresses must not reach them.
OWN_STACK = {"dev", "demo"}

# Command modules register themselves on `app`.
from oms.cli import (  # noqa: E402, F401
    carrier,
    codec,
    dev,
    dlq,
    doctor,
    edit,
    faults,
    inventory,
    orders,
    processes,
    returns,
    review,
    submit,
    subscriptions,
    supplier,
    versions,
)


def _error(message: str) -> None:
    line = " ".join(message.split())
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
        err_console.print(f"[red]error:[/red] {escape(line)}", highlight=False)


def _command(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def run(argv: list[str]) -> int:
    """The CLI as a function: the exit code, every failure reported as one line."""
    try:
        if _command(argv) not in OWN_STACK and LOCAL_ENV.exists():
            os.environ.update(read_env_file(LOCAL_ENV))
        result = app(args=argv, prog_name="oms", standalone_mode=False)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP in `oms dev`/`oms demo`
        return exc.exit_code if isinstance(exc, Interrupted) else 130
    except Exception as exc:
        return _report(exc)
    return result if isinstance(result, int) else 0


def _report(exc: Exception) -> int:
    """One `error:` line for `exc`; its exit code."""
    if isinstance(exc, TyperException):  # typer's (vendored click's) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            return 2  # the help was printed, as typer does
        ctx = getattr(exc, "ctx", None)  # a bad option or argument: one line, not a usage box
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _error(exc.format_message() + hint)
        return exc.exit_code
    if isinstance(exc, Abort):
        _error("aborted")
        return 1
    if isinstance(exc, (CliError, SettingsError, StackError)):
        _error(str(exc))
        return getattr(exc, "exit_code", 2)
    # A bug or an unforeseen failure: still one line, and where to look.
    _error(f"unexpected {type(exc).__name__}: {exc} (the local stack's logs: .oms/logs/)")
    return 1


def main() -> None:
    """Run the CLI and leave with `os._exit`: temporalio can abort at interpreter exit
    (sdk-python#300) after the work succeeded, which would turn success into a crash code."""
    code = run(sys.argv[1:])
    with contextlib.suppress(OSError):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
