"""One line on stderr and an exit code for every failure of a command, never a traceback.

Commands wear `@one_line_errors`, so the CLI behaves the same under `main()` and in-process
(typer's CliRunner, which would otherwise turn any exception into exit code 1). AWS and Temporal
errors are translated into what an operator can act on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import typer
from rich.markup import escape

from oms.cli.app import err_console
from oms.cli.errors import CliError
from oms.config import SettingsError

P = ParamSpec("P")
R = TypeVar("R")

NOT_RUNNING_HINT = "is `oms dev` running (see .oms/local.env)?"
# SQS and DynamoDB codes meaning "the resource is not there" (local stack not created).
MISSING_RESOURCE = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ResourceNotFoundException",
}


def report(message: str, exit_code: int) -> typer.Exit:
    """Print `error: <message>` on one line (messages can carry newlines from libraries)."""
    line = " ".join(message.split())
    # escape: order ids, reasons and library messages may contain [brackets] rich would eat.
    err_console.print(f"[red]error:[/red] {escape(line)}", highlight=False)
    return typer.Exit(exit_code)


def explain(exc: Exception) -> CliError:
    """What went wrong, in terms of the CLI and the local stack."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, SettingsError):
        return CliError(str(exc), exit_code=2)
    from temporalio.service import RPCError

    if isinstance(exc, RPCError):
        return CliError(f"Temporal error ({exc.status.name}): {exc.message}")
    return CliError(_aws_message(exc) or f"unexpected {type(exc).__name__}: {exc}")


def _aws_message(exc: Exception) -> str | None:
    # Imported here: botocore is only loaded by the commands that use AWS.
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS: {exc}; {NOT_RUNNING_HINT}"
    if isinstance(exc, NoCredentialsError):
        return f"no AWS credentials found; {NOT_RUNNING_HINT}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, text = error.get("Code", "?"), error.get("Message", str(exc))
        hint = f"; {NOT_RUNNING_HINT}" if code in MISSING_RESOURCE else ""
        return f"AWS error {code}: {text}{hint}"
    if isinstance(exc, BotoCoreError):
        return f"AWS error: {exc}"
    return None


@contextmanager
def naming(resource: str) -> Iterator[None]:
    """Name the queue or table in the error when it does not exist (AWS's message does not)."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in MISSING_RESOURCE:
            raise CliError(f"{resource} does not exist; {NOT_RUNNING_HINT}") from None
        raise


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command: its failures become `error: ...` and an exit code."""

    @functools.wraps(command)  # typer reads the signature through __wrapped__
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            error = explain(exc)
            raise report(str(error), error.exit_code) from None

    return guarded
