"""`oms faults set|clear|list`: make the local emulator answer one AWS service with its own
transient error for a while, to watch orders ride out an outage (local stack only)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from oms.cli.app import JsonFlag, app, console, err_console
from oms.cli.context import print_json
from oms.cli.errors import CliError
from oms.local.faults import (
    MAX_SECONDS,
    SERVICES,
    Fault,
    FaultsUnreachableError,
    clear_faults,
    list_faults,
    set_fault,
)

faults_app = typer.Typer(
    name="faults",
    help="Simulated AWS outages in the local emulator (`oms dev`): ses, dynamodb, sqs, kms.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(faults_app)

NO_STACK = "no local stack is running (start one with `oms dev`); faults exist only there"


def _endpoint() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise CliError(NO_STACK)
    return endpoint


def _check_service(service: str) -> str:
    if service not in SERVICES:
        raise CliError(
            f"SERVICE must be one of {', '.join(SERVICES)}, not {service!r}", exit_code=2
        )
    return service


def _table(faults: list[Fault]) -> Table:
    table = Table(title="Simulated outages", title_justify="left")
    for column in ("service", "error", "seconds left", "calls refused"):
        table.add_column(column)
    for fault in faults:
        table.add_row(
            fault.service, fault.kind, f"{fault.remaining_seconds:.0f}", str(fault.injected)
        )
    return table


@faults_app.command(name="set")
def set_(
    service: Annotated[
        str, typer.Argument(metavar="SERVICE", help=f"One of {', '.join(SERVICES)}.")
    ],
    seconds: Annotated[
        float,
        typer.Option(
            "--for", min=0.1, max=MAX_SECONDS, help="How long the outage lasts, in seconds."
        ),
    ],
    kind: Annotated[
        str,
        typer.Option(help="'unavailable' (5xx, default) or 'throttling' (the service's 4xx)."),
    ] = "unavailable",
    as_json: JsonFlag = False,
) -> None:
    """Answer every call to SERVICE with its transient error for SECONDS, as AWS does in an
    outage: boto3 retries, then the activity fails and Temporal retries it."""
    _check_service(service)
    if kind not in ("unavailable", "throttling"):
        raise CliError("--kind must be 'unavailable' or 'throttling'", exit_code=2)
    try:
        fault = set_fault(_endpoint(), service, seconds, kind)
    except FaultsUnreachableError as exc:
        raise CliError(f"{NO_STACK} ({exc})") from None
    if as_json:
        print_json(fault)
        return
    err_console.print(
        f"{service} answers {kind} errors for {seconds:g}s (`oms faults clear` ends it sooner)",
        highlight=False,
    )


@faults_app.command()
def clear(
    service: Annotated[
        str | None, typer.Argument(metavar="[SERVICE]", help="Only this service (default: all).")
    ] = None,
) -> None:
    """End simulated outages now."""
    if service is not None:
        _check_service(service)
    try:
        clear_faults(_endpoint(), service)
    except FaultsUnreachableError as exc:
        raise CliError(f"{NO_STACK} ({exc})") from None
    err_console.print(f"cleared {'all outages' if service is None else service}")


@faults_app.command(name="list")
def list_(as_json: JsonFlag = False) -> None:
    """The outages in force: service, kind, seconds left, calls refused so far."""
    try:
        faults = list_faults(_endpoint())
    except FaultsUnreachableError as exc:
        raise CliError(f"{NO_STACK} ({exc})") from None
    if as_json:
        print_json(faults)
    elif faults:
        console.print(_table(faults))
    else:
        err_console.print("no simulated outage in force")
