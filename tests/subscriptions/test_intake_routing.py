"""The intake routes `"type": "subscription"` to the subscriptions' client; orders unchanged."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from temporalio.exceptions import WorkflowAlreadyStartedError

from oms.intake.records import OrderIntake, Outcome
from oms.local.demo_orders import order_body
from oms.orders.client import Submission
from oms.subscriptions.client import Created, SubscriptionClient
from oms.subscriptions.models import SubscriptionMessage
from tests.starter.test_intake import DLQ, FakeOrders, FakeSqs, attributes, message


class FakeSubscriptions(SubscriptionClient):
    """The real minimum-interval check; `create` answers STARTED, then DUPLICATE."""

    def __init__(self) -> None:
        super().__init__(None, task_queue="q")  # type: ignore[arg-type]
        self.created: list[SubscriptionMessage] = []

    async def create(self, message: SubscriptionMessage) -> Created:
        self.check(message)
        seen = any(m.subscription_id == message.subscription_id for m in self.created)
        self.created.append(message)
        return Created.DUPLICATE if seen else Created.STARTED


def subscription_body(**changes: Any) -> dict[str, Any]:
    body = order_body("unused")
    del body["orderId"], body["totalAmount"]
    return {**body, "type": "subscription", "subscriptionId": "SUB-1", "interval": "P1M", **changes}


async def test_a_subscription_starts_once_and_an_order_still_goes_to_the_orders() -> None:
    orders, subscriptions, sqs = FakeOrders(Submission.STARTED), FakeSubscriptions(), FakeSqs()
    intake = OrderIntake(orders=orders, sqs=sqs, dlq_url=DLQ, subscriptions=subscriptions)  # type: ignore[arg-type]

    assert await intake.accept(message(subscription_body(cycles=3))) == Outcome.STARTED
    assert await intake.accept(message(subscription_body(cycles=3))) == Outcome.DUPLICATE
    assert await intake.accept(message(order_body("PLAIN-1"))) == Outcome.STARTED

    assert [s.cycles for s in subscriptions.created] == [3, 3]
    assert [o.order_id for o, _ in orders.submitted] == ["PLAIN-1"]
    assert sqs.sent == []


async def test_an_invalid_or_too_frequent_subscription_is_dead_lettered_with_why() -> None:
    sqs = FakeSqs()
    intake = OrderIntake(
        orders=FakeOrders(),
        sqs=sqs,
        dlq_url=DLQ,
        subscriptions=FakeSubscriptions(),  # type: ignore[arg-type]
    )

    assert await intake.accept(message(subscription_body(interval="P1Y"))) == Outcome.INVALID
    assert await intake.accept(message(subscription_body(interval="PT10S"))) == Outcome.INVALID

    first, second = (attributes(sent) for sent in sqs.sent)
    assert "interval" in first["oms.reason"]
    assert "shorter than this deployment's minimum" in second["oms.reason"]


def test_dev_minimum_accepts_ten_seconds() -> None:
    dev = SubscriptionClient(None, task_queue="q", minimum_interval=timedelta(seconds=10))  # type: ignore[arg-type]
    dev.check(SubscriptionMessage.model_validate(subscription_body(interval="PT10S")))


async def test_a_subscription_priced_beyond_its_currency_minor_unit_is_dead_lettered() -> None:
    """§4 holds for subscriptions at intake, not in a cycle weeks later: 12.50 yen is no price."""
    sqs = FakeSqs()
    subscriptions = FakeSubscriptions()
    intake = OrderIntake(orders=FakeOrders(), sqs=sqs, dlq_url=DLQ, subscriptions=subscriptions)  # type: ignore[arg-type]

    assert await intake.accept(message(subscription_body(currency="JPY"))) == Outcome.INVALID

    [sent] = sqs.sent
    assert "more decimal places than JPY allows (0)" in attributes(sent)["oms.reason"]
    assert subscriptions.created == []


class FakeLedger:
    """`Ledger.update_fields` with `if_absent` as `if_not_exists`: the first value stays."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def update_fields(self, model: Any, key: str, *, if_absent: dict[str, Any]) -> Any:
        item = self.items.setdefault((key, model.KIND), {"orderId": key, **if_absent})
        return model.model_validate(item)


class StartingClient(SubscriptionClient):
    """The real `create` up to Temporal; the start itself is recorded."""

    def __init__(self, ledger: FakeLedger) -> None:
        super().__init__(FakeTemporal(), task_queue="q", ledger=ledger)  # type: ignore[arg-type]


class FakeTemporal:
    def __init__(self) -> None:
        self.started: list[str] = []

    async def start_workflow(self, *_: Any, id: str, **__: Any) -> None:
        if id in self.started:
            raise WorkflowAlreadyStartedError(id, "SubscriptionWorkflow")
        self.started.append(id)


async def test_the_same_subscription_id_with_another_body_is_a_conflict_dead_lettered() -> None:
    """Given SUB-1 received, when SUB-1 arrives again: the same body is a duplicate; another
    body (other cycles) is dead-lettered as a conflict with the reason, and nothing starts."""
    ledger, sqs = FakeLedger(), FakeSqs()
    subscriptions = StartingClient(ledger)
    intake = OrderIntake(orders=FakeOrders(), sqs=sqs, dlq_url=DLQ, subscriptions=subscriptions)  # type: ignore[arg-type]

    assert await intake.accept(message(subscription_body(cycles=3))) == Outcome.STARTED
    assert await intake.accept(message(subscription_body(cycles=3))) == Outcome.DUPLICATE
    assert await intake.accept(message(subscription_body(cycles=4))) == Outcome.CONFLICT

    assert subscriptions.temporal.started == ["subscription-SUB-1"]  # type: ignore[attr-defined]
    [sent] = sqs.sent
    assert json.loads(sent["MessageBody"])["cycles"] == 4  # the message, unchanged
    assert attributes(sent)["oms.kind"] == "conflict"
    assert attributes(sent)["oms.reason"].startswith(
        "conflict: subscription SUB-1 was already received with different content"
    )
