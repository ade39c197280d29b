"""Putting order messages on the intake queue, as an upstream system does.

Shared by `oms submit` and the local demo so that batching, SQS's limits and partial refusals
are handled once; the CLI only parses its arguments and renders what happened.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


class PartlySentError(Exception):
    """SQS refused some of the bodies after others went out."""

    def __init__(self, failed: list[Body], sent: int, why: str) -> None:
        self.failed = failed
        self.sent = sent
        self.why = why
        super().__init__(f"{len(failed)} not sent ({why})")


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


def body_of(message: dict[str, Any], line: int = 0) -> Body:
    text = json.dumps(message)
    return Body(line, text, _order_id(text))


def _order_id(text: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    order_id = value.get("orderId") if isinstance(value, dict) else None
    return order_id if isinstance(order_id, str) else None


def problems(bodies: Sequence[Body]) -> list[str]:
    """Every reason the intake would dead-letter a body, or refuse it as a duplicate, by line."""
    found: list[str] = []
    first_line: dict[str, int] = {}
    for body in bodies:
        try:
            order = parse_order(body.text)
        except InvalidOrderError as error:
            found.append(f"line {body.line}: {error.reason}")
            continue
        # The same id twice would be a duplicate or, with other content, a conflict that the
        # intake dead-letters: almost always a mistake in the file.
        if order.order_id in first_line:
            found.append(
                f"line {body.line}: orderId {order.order_id} already on line "
                f"{first_line[order.order_id]}"
            )
        first_line.setdefault(order.order_id, body.line)
    return found


def batches(bodies: Sequence[Body]) -> list[list[Body]]:
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


def send(sqs: Any, url: str, bodies: Sequence[Body]) -> int:
    """Send everything and return how many went out. If nothing went out, SQS's own error is
    raised; if some did, PartlySentError names the rest."""
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
        raise PartlySentError(failed, sent, why)
    return sent
