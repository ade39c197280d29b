"""`oms dlq list|redrive`: inspect dead letters and send them back to the intake queue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from oms.cli import context
from oms.cli.app import JsonFlag, app, console, err_console
from oms.cli.failures import naming, one_line_errors
from oms.ops.dlq import peek, redrive
from oms.resources import queue_url

dlq_app = typer.Typer(
    name="dlq",
    help="Dead letters: invalid, conflicting or undeliverable orders (the OMS_DLQ queue).",
    no_args_is_help=True,
    rich_markup_mode="markdown",  # as the root app: docstrings read as paragraphs
)
app.add_typer(dlq_app)

BODY_PREVIEW = 60  # characters of the body in the table; --json has all of it


@dlq_app.command(name="list")
@one_line_errors
def list_(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")
    ] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Show dead letters with the reason each was dead-lettered. Nothing is removed.

    Example: oms dlq list --json
    """
    sqs = context.aws().sqs
    dlq = context.settings().dlq
    with naming(f"queue {dlq}"):
        found = peek(sqs, queue_url(sqs, dlq), limit=limit)
    letters = found.letters
    elsewhere = (
        f"{found.in_flight} more dead letter(s) in flight at another reader (a redrive, another "
        "`oms dlq list`) or delayed: not shown; they are back when its visibility timeout ends"
    )
    if as_json:
        context.print_json(letters)
        if found.in_flight:
            err_console.print(f"note: {elsewhere}", highlight=False, markup=False)
        return
    if not letters:
        if found.in_flight:
            console.print(f"none to show now, but {elsewhere}", highlight=False, markup=False)
        else:
            console.print("the dead-letter queue is empty", highlight=False)
        return
    table = Table()
    for column in ("message", "kind", "reason", "body"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        body = letter.body if len(letter.body) <= BODY_PREVIEW else letter.body[:BODY_PREVIEW] + "…"
        table.add_row(letter.message_id, letter.kind or "-", Text(letter.reason), Text(body))
    console.print(table)
    if found.in_flight:
        console.print(elsewhere, highlight=False, markup=False)


@dlq_app.command(name="redrive")
@one_line_errors
def redrive_(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100_000, help="Move at most this many.")
    ] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"moved": N}.')] = False,
) -> None:
    """Move dead letters back to the intake queue, unchanged, to be processed again.

    Fix the cause first (stock, a bad body upstream): an invalid message comes straight back.

    Example: oms dlq redrive --limit 10
    """
    settings = context.settings()
    sqs = context.aws().sqs
    with naming(f"queue {settings.dlq}"):
        dlq_url = queue_url(sqs, settings.dlq)
    with naming(f"queue {settings.intake_queue}"):
        intake_url = queue_url(sqs, settings.intake_queue)
    moved = redrive(sqs, dlq_url, intake_url, limit=limit)
    if as_json:
        context.print_json({"moved": moved})
    else:
        noun = "dead letter" if moved == 1 else "dead letters"
        console.print(
            f"moved {moved} {noun} to {settings.intake_queue}", highlight=False, markup=False
        )
