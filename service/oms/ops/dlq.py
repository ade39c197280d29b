"""Dead letters: inspect them (`oms dlq list`) and send them back to intake (`oms dlq redrive`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from oms.intake.records import KIND_ATTRIBUTE, REASON_ATTRIBUTE

# SQS caps one receive at 10 messages; stop after this many empty receives in a row.
EMPTY_RECEIVES = 2


class DeadLetter(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    message_id: str
    reason: str
    kind: str | None = None
    receive_count: int | None = None
    body: str = Field(repr=False)


def _reason(message: dict[str, Any]) -> tuple[str, str | None]:
    attributes = message.get("MessageAttributes", {})
    if REASON_ATTRIBUTE in attributes:
        kind = attributes.get(KIND_ATTRIBUTE, {}).get("StringValue")
        return attributes[REASON_ATTRIBUTE]["StringValue"], kind
    count = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
    return f"delivery kept failing (transient errors); moved by SQS after {count} receives", None


def _receive(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])
    return messages


def in_flight(sqs: Any, dlq_url: str) -> int:
    """Dead letters a receive cannot return now: in flight at another reader (a redrive, a
    second `oms dlq list`) or delayed. They are still dead letters: a list that misses them
    must say so, or an operator reads "empty" while letters wait."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=dlq_url,
        AttributeNames=[
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


@dataclass(frozen=True)
class DeadLetters:
    letters: list[DeadLetter]
    in_flight: int  # not returned: in flight at another reader, or delayed


def peek(sqs: Any, dlq_url: str, *, limit: int = 100) -> DeadLetters:
    """The dead letters a receive returns, and how many others are in flight (counted before
    this peek hides the ones it reads)."""
    hidden = in_flight(sqs, dlq_url)
    return DeadLetters(list_dead_letters(sqs, dlq_url, limit=limit), hidden)


def list_dead_letters(sqs: Any, dlq_url: str, *, limit: int = 100) -> list[DeadLetter]:
    """Peek at up to `limit` dead letters. Each seen message stays invisible for a few seconds,
    so that every receive returns new ones; nothing is deleted."""
    seen: dict[str, DeadLetter] = {}
    handles: list[str] = []
    empty = 0
    while len(seen) < limit and empty < EMPTY_RECEIVES:
        fresh = [m for m in _receive(sqs, dlq_url, visibility=5) if m["MessageId"] not in seen]
        empty = 0 if fresh else empty + 1
        for message in fresh:
            handles.append(message["ReceiptHandle"])
            reason, kind = _reason(message)
            seen[message["MessageId"]] = DeadLetter(
                message_id=message["MessageId"],
                reason=reason,
                kind=kind,
                receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                body=message["Body"],
            )
    _make_visible(sqs, dlq_url, handles)  # listing must not delay a redrive
    return list(seen.values())[:limit]


def _make_visible(sqs: Any, url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(handles[start : start + 10])
            ],
        )


def redrive(
    sqs: Any, dlq_url: str, intake_url: str, *, limit: int = 1000, until: datetime | None = None
) -> int:
    """Move dead letters back to the intake queue (body unchanged, reason attributes dropped).
    Each is sent before it is deleted, so a crash in between duplicates, never loses; the
    intake recognises the duplicate.

    Only letters dead-lettered before `until` (default: now) move. One that is still invalid
    comes straight back while the redrive runs; it is left for the next look instead of
    circling between the two queues until the limit.
    """
    cutoff = int((until or datetime.now(UTC)).timestamp() * 1000)
    moved = 0
    empty = 0
    left: list[str] = []
    while moved < limit and empty < EMPTY_RECEIVES:
        messages = _receive(sqs, dlq_url, visibility=30)
        due = [m for m in messages if _sent_millis(m) <= cutoff][: limit - moved]
        left.extend(m["ReceiptHandle"] for m in messages if m not in due)
        empty = 0 if due else empty + 1
        for message in due:
            sqs.send_message(QueueUrl=intake_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    _make_visible(sqs, dlq_url, left)
    return moved


def _sent_millis(message: dict[str, Any]) -> int:
    return int(message.get("Attributes", {}).get("SentTimestamp", 0))
