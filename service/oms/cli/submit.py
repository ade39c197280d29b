"""`oms submit`: put orders on the intake queue.

Every order is validated before the first one is sent, so a bad file submits nothing rather
than half of itself. `--raw` skips validation on purpose, to exercise the dead-letter path.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from oms.cli import context
from oms.cli.app import app, console
from oms.cli.errors import CliError
from oms.cli.failures import naming, one_line_errors
from oms.intake import submission
from oms.intake.submission import Body, PartlySentError, problems, split_bodies


def read_input(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"cannot read {source}: no such file", exit_code=2) from None
    except IsADirectoryError:
        raise CliError(f"cannot read {source}: it is a directory", exit_code=2) from None
    except UnicodeDecodeError:
        raise CliError(f"cannot read {source}: not UTF-8 text", exit_code=2) from None
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror}", exit_code=2) from None


def validate(bodies: list[Body]) -> None:
    """Raise one error (exit 2) naming the first problem's line, and how many more there are."""
    found = problems(bodies)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise CliError(f"{found[0]}{more}; nothing was submitted", exit_code=2)


def send(sqs: Any, url: str, bodies: list[Body]) -> None:
    """Send everything; raise naming what was not sent (exit 1) if SQS refused any of it."""
    try:
        submission.send(sqs, url, bodies)
    except PartlySentError as partial:
        names = ", ".join(body.label for body in partial.failed)
        raise CliError(
            f"{len(partial.failed)} of {len(bodies)} orders were not sent ({partial.why}): "
            f"{names}; the other {partial.sent} were submitted"
        ) from None


@app.command()
@one_line_errors
def submit(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="A file with one order JSON object, or one object per line (JSON Lines); "
            "`-` reads standard input.",
            show_default=False,
        ),
    ],
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="Send the bodies as they are, without validation (to exercise the DLQ).",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"submitted", "orderIds"} as JSON.')
    ] = False,
) -> None:
    """Put orders on the intake queue (OMS_INTAKE_QUEUE).

    All orders are validated first (the rules in the README's "Order message"); if any is
    invalid, the first problem is reported with its line number and nothing is sent (exit 2).

    Example: oms submit orders.jsonl    or    cat order.json | oms submit -
    """
    bodies = split_bodies(read_input(source))
    if not bodies:
        where = "standard input" if source == "-" else source
        raise CliError(f"no orders in {where}", exit_code=2)
    if not raw:
        validate(bodies)
    settings = context.settings()
    sqs = context.aws().sqs
    from oms.resources import queue_url

    with naming(f"queue {settings.intake_queue}"):
        url = queue_url(sqs, settings.intake_queue)
    send(sqs, url, bodies)
    order_ids = [body.order_id for body in bodies if body.order_id]
    if as_json:
        context.print_json({"submitted": len(bodies), "orderIds": order_ids})
        return
    noun = "order" if len(bodies) == 1 else "orders"
    note = " without validation (--raw)" if raw else ""
    console.print(
        f"submitted {len(bodies)} {noun} to {settings.intake_queue}{note}",
        highlight=False,
        markup=False,
    )
