"""OrderIntake with a fake order client and a fake SQS: one record, one decision (§5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from oms.intake.records import (
    KIND_ATTRIBUTE,
    REASON_ATTRIBUTE,
    SOURCE_ATTRIBUTE,
    Message,
    OrderIntake,
    Outcome,
    sent_at,
)
from oms.local.demo_orders import order_body
from oms.orders.client import Submission
from oms.orders.models import OrderMessage

DLQ = "https://sqs.test/000000000000/dlq"


class FakeOrders:
    """Answers `submit` with `answer` (or raises it), recording what it was asked."""

    def __init__(self, answer: Submission | Exception = Submission.STARTED) -> None:
        self.answer = answer
        self.submitted: list[tuple[OrderMessage, datetime | None]] = []

    async def submit(self, order: OrderMessage, *, enqueued_at: datetime | None = None) -> Any:
        self.submitted.append((order, enqueued_at))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class FakeSqs:
    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.error = error

    def send_message(self, **request: Any) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        self.sent.append(request)
        return {"MessageId": f"dlq-{len(self.sent)}"}


def intake(orders: FakeOrders, sqs: FakeSqs | None = None) -> tuple[OrderIntake, FakeSqs]:
    sqs = sqs or FakeSqs()
    return OrderIntake(orders=orders, sqs=sqs, dlq_url=DLQ), sqs  # type: ignore[arg-type]


def message(body: str | dict[str, Any], message_id: str = "m-1") -> Message:
    text = body if isinstance(body, str) else json.dumps(body)
    return Message(message_id=message_id, body=text, sent_at=sent_at(1_700_000_000_000))


def attributes(sent: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in sent["MessageAttributes"].items()}


async def test_a_new_order_is_submitted_with_its_enqueue_time() -> None:
    orders = FakeOrders(Submission.STARTED)
    accept, sqs = intake(orders)

    assert await accept.accept(message(order_body("NEW-1"))) == Outcome.STARTED

    [(order, enqueued_at)] = orders.submitted
    assert order.order_id == "NEW-1"
    assert enqueued_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert sqs.sent == []


async def test_a_duplicate_is_acknowledged_and_not_dead_lettered() -> None:
    accept, sqs = intake(FakeOrders(Submission.DUPLICATE))

    assert await accept.accept(message(order_body("DUP-1"))) == Outcome.DUPLICATE
    assert sqs.sent == []


async def test_a_conflict_is_dead_lettered_unchanged_with_the_reason() -> None:
    body = json.dumps(order_body("CONFLICT-1", lines={"MUG-RED": 5}))
    accept, sqs = intake(FakeOrders(Submission.CONFLICT))

    assert await accept.accept(message(body, "m-conflict")) == Outcome.CONFLICT

    [sent] = sqs.sent
    assert (sent["QueueUrl"], sent["MessageBody"]) == (DLQ, body)
    why = attributes(sent)
    assert why[KIND_ATTRIBUTE] == "conflict"
    assert "CONFLICT-1" in why[REASON_ATTRIBUTE]
    assert "different content" in why[REASON_ATTRIBUTE]
    assert why[SOURCE_ATTRIBUTE] == "m-conflict"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({**order_body("BAD-1"), "totalAmount": "1.00"}), "totalAmount:"),
        (json.dumps({**order_body("BAD-2"), "orderId": "has spaces"}), "orderId"),
    ],
)
async def test_an_invalid_message_goes_to_the_dlq_and_is_never_submitted(
    body: str, reason: str
) -> None:
    orders = FakeOrders()
    accept, sqs = intake(orders)

    assert await accept.accept(message(body)) == Outcome.INVALID

    assert orders.submitted == []
    [sent] = sqs.sent
    assert sent["MessageBody"] == body  # unchanged
    assert attributes(sent)[KIND_ATTRIBUTE] == "invalid"
    assert reason in attributes(sent)[REASON_ATTRIBUTE]


@pytest.mark.parametrize("status", [RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED])
async def test_an_outage_or_throttling_raises_so_only_this_record_is_retried(
    status: RPCStatusCode,
) -> None:
    accept, sqs = intake(FakeOrders(RPCError("down", status, b"")))

    with pytest.raises(RPCError):
        await accept.accept(message(order_body("OUTAGE-1")))

    assert sqs.sent == []  # never dead-lettered for being throttled or down


async def test_an_unreachable_dlq_raises_rather_than_drop_the_message() -> None:
    accept, _ = intake(FakeOrders(), FakeSqs(error=ConnectionError("sqs down")))

    with pytest.raises(ConnectionError):
        await accept.accept(message("{not json"))
