"""Supplier events through the events intake: a supplier's event reaches its purchase order
exactly once in effect; one for a purchase order that ended is late (acknowledged, changes
nothing); one for a purchase order that never existed, or an invalid one, is dead-lettered with
the reason. Time-skipping Temporal, fake purchase order activities, the real moto ledger (for
the router's tracking book, which supplier events do not use)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import date
from typing import Any, cast

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.aws import AwsClients
from oms.config import Settings
from oms.delivery.tracking import TrackingBook
from oms.events.handler import events_handler
from oms.events.messages import InvalidEventError, SupplierEventMessage, parse_event
from oms.events.router import EventOutcome, EventRouter
from oms.intake.records import REASON_ATTRIBUTE, Message
from oms.loop_thread import LoopThread
from oms.orders.contract import order_workflow_id
from oms.purchasing.client import PurchaseOrderClient, PurchaseOrderTimings
from oms.purchasing.contract import PurchaseOrderState, SupplierStatus
from oms.purchasing.supplier_events import supplier_event_body
from oms.purchasing.workflow import PurchaseOrderWorkflow
from oms.resources import QueueUrls

from .fakes import FakeSupplierSide, ListeningOrder, Numbers

COLLECT = 60.0
ETA = date(2030, 1, 15)


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> dict[str, str]:
        self.sent.append(request)
        return {"MessageId": str(len(self.sent))}


def message(body: str) -> Message:
    return Message(message_id=uuid.uuid4().hex, body=body)


PO = "po-ACME-MUG-RED-1"


async def _terminate(*handles: WorkflowHandle[Any, Any]) -> None:
    for handle in handles:
        with contextlib.suppress(RPCError):  # already closed
            await handle.terminate("test cleanup")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (supplier_event_body(PO, SupplierStatus.CONFIRMED), "needs an eta"),
        (supplier_event_body(PO, SupplierStatus.DELIVERED), "needs a quantity"),
        (supplier_event_body(PO, SupplierStatus.DELIVERED, quantity=0), "quantity"),
        (supplier_event_body(PO, SupplierStatus.REJECTED, quantity=3), "has no quantity"),
        (supplier_event_body("order-ORD-1", SupplierStatus.REJECTED), "purchaseOrderId"),
        (supplier_event_body(PO, SupplierStatus.REJECTED).replace("REJECTED", "LOST"), "status"),
        (
            supplier_event_body(PO, SupplierStatus.CONFIRMED, eta=ETA).replace(
                "2030-01-15", "soon"
            ),
            "eta",
        ),
        ('{"type": "returnEvent"}', "unsupported type"),
    ],
)
def test_invalid_supplier_events_name_what_is_wrong(body: str, why: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(body)
    assert why in caught.value.reason


def test_a_valid_supplier_event_round_trips() -> None:
    body = supplier_event_body(PO, SupplierStatus.CONFIRMED, eta=ETA, event_id="sup-1")

    event = parse_event(body)

    assert event == SupplierEventMessage(
        type="supplierEvent",
        event_id="sup-1",
        purchase_order_id=PO,
        status=SupplierStatus.CONFIRMED,
        eta=ETA,
    )


async def test_supplier_events_reach_their_purchase_order_once_and_strays_are_dead_lettered(
    time_env: WorkflowEnvironment, clients: AwsClients, settings: Settings, queues: QueueUrls
) -> None:
    side = FakeSupplierSide()
    sqs = FakeSqs()
    router = EventRouter(
        client=time_env.client,
        tracking=TrackingBook(clients.ledger(settings)),
        sqs=cast(Any, sqs),
        dlq_url="dlq",
    )
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    timings = PurchaseOrderTimings(
        collect_seconds=COLLECT, confirm_seconds=48 * 3600.0, grace_seconds=7 * 86400.0,
        attention_after_seconds=300,
    )  # fmt: skip
    purchases = PurchaseOrderClient(time_env.client, Numbers(), task_queue=queue, timings=timings)
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    order_id = f"O-{uuid.uuid4().hex[:8]}"
    async with (
        contextlib.AsyncExitStack() as stack,
        Worker(
            time_env.client,
            task_queue=queue,
            workflows=[PurchaseOrderWorkflow, ListeningOrder],
            activities=side.activities(),
        ),
    ):
        order = await time_env.client.start_workflow(
            ListeningOrder.run, id=order_workflow_id(order_id), task_queue=queue
        )
        start = await time_env.get_current_time()
        pid = await purchases.join(
            supplier="ACME", sku=sku, order_id=order_id, quantity=2, since=start
        )
        # A failure below must not leave them running: a timer of theirs firing after this
        # worker is gone would stop time skipping for the other tests on this server.
        stack.push_async_callback(_terminate, order, time_env.client.get_workflow_handle(pid))
        await time_env.sleep(COLLECT + 1)  # placed with the supplier
        confirmed = supplier_event_body(pid, SupplierStatus.CONFIRMED, eta=ETA, event_id="s-1")

        assert await router.route_event(message(confirmed)) == EventOutcome.ROUTED
        assert await router.route_event(message(confirmed)) == EventOutcome.ROUTED  # redelivered
        unknown = supplier_event_body("po-NOBODY-X-1", SupplierStatus.REJECTED)
        assert await router.route_event(message(unknown)) == EventOutcome.UNKNOWN
        assert await router.route_event(message("{}")) == EventOutcome.INVALID

        # through the batch handler, as the bridge calls it
        delivered = supplier_event_body(pid, SupplierStatus.DELIVERED, quantity=2, event_id="s-2")
        handler = events_handler(router, LoopThread("test-supplier-events"))
        record = {"messageId": "m-1", "body": delivered}
        answer = await asyncio.to_thread(handler, {"Records": [record]}, None)
        assert answer == {"batchItemFailures": []}
        news = await order.result()
        ended = await time_env.client.get_workflow_handle_for(
            PurchaseOrderWorkflow.run, pid
        ).result()

        # the purchase order is over: a late event is acknowledged and changes nothing
        late = supplier_event_body(pid, SupplierStatus.DELIVERED, quantity=5, event_id="s-3")
        assert await router.route_event(message(late)) == EventOutcome.LATE

    assert [n.status for n in news] == ["CONFIRMED", "FILLED"]
    assert news[0].eta == ETA
    assert ended.state == PurchaseOrderState.RECEIVED
    assert (ended.ordered, ended.received) == (2, 2)
    recorded = [(s.step, s.detail) for s in ended.steps if (s.detail or "").startswith("s-")]
    assert recorded == [("CONFIRMED", "s-1"), ("DELIVERED", "s-2")]  # each event id once
    reasons = [m["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"] for m in sqs.sent]
    assert reasons[0] == "unknown purchase order po-NOBODY-X-1"
    assert reasons[1].startswith("invalid event")
    assert len(reasons) == 2  # the late event was not dead-lettered
    assert json.loads(sqs.sent[0]["MessageBody"])["purchaseOrderId"] == "po-NOBODY-X-1"
