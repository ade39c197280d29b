"""`oms submit`: put orders on the intake queue.

Every order is validated before the first one is sent, so a bad file submits nothing rather
than half of itself. `--raw` skips validation on purpose, to exercise the dead-letter path.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from oms.cli import context
from oms.cli.app import app, console
from oms.cli.errors import CliError
from oms.cli.failures import naming, one_line_errors
from oms.orders.models import InvalidOrderError, parse_order

MAX_BATCH_ENTRIES = 10  # SQS SendMessageBatch limits
MAX_BATCH_BYTES = 256 * 1024


@dataclass(frozen=True)
class Body:
    line: int  # where the body starts in the input, 1-based, for error messages
    text: str
    order_id: str | None = None

    @property
    def label(self) -> str:
        return self.order_id or f"line {self.line}"


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


def split_bodies(text: str) -> list[Body]:
    """One JSON object (possibly pretty-printed over many lines), or JSON Lines: one body per
    non-blank line. Split on "\\n" only: JSON strings may hold other line separators."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    numbered = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]
    if len(numbered) > 1:
        whole = text.strip()
        try:
            if isinstance(json.loads(whole), dict):
                return [Body(numbered[0][0], whole, _order_id(whole))]
        except ValueError:
            pass  # not one document: JSON Lines
    return [Body(number, line, _order_id(line)) for number, line in numbered]


def _order_id(text: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    order_id = value.get("orderId") if isinstance(value, dict) else None
    return order_id if isinstance(order_id, str) else None


def validate(bodies: list[Body]) -> None:
    """Raise one error (exit 2) naming the first problem's line, and how many more there are."""
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for body in bodies:
        try:
            order = parse_order(body.text)
        except InvalidOrderError as error:
            problems.append(f"line {body.line}: {error.reason}")
            continue
        # The same id twice would be a duplicate or, with other content, a conflict that the
        # intake dead-letters: almost always a mistake in the file (use --raw to mean it).
        if order.order_id in first_line:
            problems.append(
                f"line {body.line}: orderId {order.order_id} already on line "
                f"{first_line[order.order_id]}"
            )
        first_line.setdefault(order.order_id, body.line)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CliError(f"{problems[0]}{more}; nothing was submitted", exit_code=2)


def batches(bodies: list[Body]) -> list[list[Body]]:
    """Groups for SendMessageBatch: at most 10 entries and 256 KiB each."""
    groups: list[list[Body]] = []
    size = 0
    for body in bodies:
        length = len(body.text.encode())
        if not groups or len(groups[-1]) == MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(body)
        size += length
    return groups


def send(sqs: Any, url: str, bodies: list[Body]) -> None:
    """Send everything; raise naming what was not sent (exit 1) if SQS refused any of it."""
    failed: list[Body] = []
    why = ""
    sent = 0
    groups = batches(bodies)
    for index, group in enumerate(groups):
        try:
            response = sqs.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "MessageBody": b.text} for i, b in enumerate(group)],
            )
        except Exception as exc:
            if sent == 0:
                raise  # nothing went out: report the cause itself
            failed.extend(body for rest in groups[index:] for body in rest)
            why = str(exc)
            break
        sent += len(response.get("Successful", []))
        for entry in response.get("Failed", []):
            failed.append(group[int(entry["Id"])])
            why = f"{entry.get('Code', '?')}: {entry.get('Message', '')}"
    if failed:
        names = ", ".join(body.label for body in failed)
        raise CliError(
            f"{len(failed)} of {len(bodies)} orders were not sent ({why}): {names}; "
            f"the other {sent} were submitted"
        )


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
