"""`oms`: one command for local use and for operators (typer + rich).

Every command reads `.oms/local.env` (written by `oms dev`, removed when it stops) when
present, so a second terminal talks to the running local stack; otherwise the environment.
Errors are one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import os
import sys

from dotenv import load_dotenv

from oms.cli.app import app, err_console
from oms.cli.errors import CliError
from oms.config import SettingsError
from oms.local.errors import StackError

LOCAL_ENV = os.path.join(".oms", "local.env")

# Command modules register themselves on `app`.
from oms.cli import (  # noqa: E402, F401
    codec,
    dev,
    dlq,
    doctor,
    faults,
    inventory,
    orders,
    processes,
    returns,
    submit,
    versions,
)


def main() -> None:
    """Run the CLI and leave with `os._exit`: temporalio can abort at interpreter exit
    (sdk-python#300) after the work succeeded, which would turn success into a crash code."""
    if os.path.exists(LOCAL_ENV):
        load_dotenv(LOCAL_ENV, override=True)
    code = 0
    try:
        app()  # standalone mode: usage errors are printed and raise SystemExit(2)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        code = 130
    except (CliError, SettingsError, StackError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        code = getattr(exc, "exit_code", 2)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
