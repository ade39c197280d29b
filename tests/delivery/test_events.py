"""The events intake: a carrier event reaches its delivery by tracking number, exactly once in
effect; invalid events and unknown tracking numbers are dead-lettered with the reason; a
delivery that finished takes nothing (late). Real ledger (moto), time-skipping Temporal."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal
from typing import Any, cast

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.aws import AwsClients
from oms.config import Settings
from oms.delivery.client import carrier_event_body
from oms.delivery.contract import CarrierStatus, DeliveryEmail, DeliveryState, delivery_id
from oms.delivery.payloads import DeliveryInput, ParcelLine
from oms.delivery.tracking import TrackingBook
from oms.delivery.workflow import DeliveryWorkflow
from oms.events.handler import events_handler
from oms.events.messages import InvalidEventError, parse_event
from oms.events.router import EventOutcome, EventRouter
from oms.intake.records import REASON_ATTRIBUTE, Message
from oms.loop_thread import LoopThread
from oms.polling import poll_until
from oms.resources import QueueUrls

from .fakes import FakeDelivery


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> dict[str, str]:
        self.sent.append(request)
        return {"MessageId": str(len(self.sent))}


@pytest.fixture
def tracking(clients: AwsClients, settings: Settings, queues: QueueUrls) -> TrackingBook:
    return TrackingBook(clients.ledger(settings))


def message(body: str) -> Message:
    return Message(message_id=uuid.uuid4().hex, body=body)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("not json", "not JSON"),
        ('{"type": "returnEvent"}', "unsupported type"),
        (
            carrier_event_body("TRK1", CarrierStatus.DELIVERED).replace("DELIVERED", "EATEN"),
            "status",
        ),
        (
            '{"type": "carrierEvent", "eventId": "e", "trackingNumber": "T", "status": '
            '"DELIVERED", "at": "2026-01-01T00:00:00"}',
            "at",
        ),
    ],
)
def test_invalid_events_name_what_is_wrong(body: str, why: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(body)
    assert why in caught.value.reason


async def test_events_reach_their_delivery_once_and_strays_are_dead_lettered(
    time_env: WorkflowEnvironment, tracking: TrackingBook
) -> None:
    fakes = FakeDelivery()
    sqs = FakeSqs()
    router = EventRouter(
        client=time_env.client, tracking=tracking, sqs=cast(Any, sqs), dlq_url="dlq"
    )
    order_id = f"EV-{uuid.uuid4().hex[:10]}"
    number = f"TRK{uuid.uuid4().hex[:12].upper()}"
    workflow_id = delivery_id(order_id, 1)
    tracking.register(number, workflow_id)
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[DeliveryWorkflow],
        activities=fakes.activities(),
    ):
        handle = await time_env.client.start_workflow(
            DeliveryWorkflow.run,
            DeliveryInput(
                order_id=order_id,
                number=1,
                tracking_number=number,
                lines=[ParcelLine(sku="MUG-RED", quantity=1, unit_price=Decimal("12.50"))],
                currency="EUR",
                captured=Decimal("12.50"),
                customer_name="Ada Lovelace",
                email="ada@example.com",
            ),
            id=workflow_id,
            task_queue=queue,
        )
        out = carrier_event_body(number, CarrierStatus.OUT_FOR_DELIVERY, event_id="e-1")

        assert await router.route_event(message(out)) == EventOutcome.ROUTED
        assert await router.route_event(message(out)) == EventOutcome.ROUTED  # redelivered
        unknown = carrier_event_body("TRKNOBODY", CarrierStatus.DELIVERED)
        assert await router.route_event(message(unknown)) == EventOutcome.UNKNOWN
        assert await router.route_event(message("{}")) == EventOutcome.INVALID

        await poll_until(
            lambda: handle.query(DeliveryWorkflow.status),
            lambda s: s.state == DeliveryState.OUT_FOR_DELIVERY and bool(s.emails),
            within=10,
            what="out for delivery",
        )
        delivered = carrier_event_body(number, CarrierStatus.DELIVERED, event_id="e-2")
        # through the batch handler, as the bridge calls it
        loop = LoopThread("test-events")
        handler = events_handler(
            EventRouter(client=time_env.client, tracking=tracking, sqs=cast(Any, sqs), dlq_url="d"),
            loop,
        )
        record = {"messageId": "m-1", "body": delivered}
        assert await _in_thread(handler, {"Records": [record]}) == {"batchItemFailures": []}
        result = await handle.result()

    assert result.state == DeliveryState.DELIVERED
    assert fakes.emails == [
        DeliveryEmail.OUT_FOR_DELIVERY,
        DeliveryEmail.DELIVERED,
        DeliveryEmail.REVIEW_REQUEST,
    ]
    assert [e.event_id for e in result.events] == ["e-1", "e-2"]
    reasons = [m["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"] for m in sqs.sent]
    assert reasons[0] == "unknown tracking number TRKNOBODY"
    assert reasons[1].startswith("invalid event")
    assert json.loads(sqs.sent[0]["MessageBody"])["trackingNumber"] == "TRKNOBODY"
    # the delivery is over: a late event is acknowledged and changes nothing
    late = carrier_event_body(number, CarrierStatus.IN_TRANSIT, event_id="e-3")
    assert await router.route_event(message(late)) == EventOutcome.LATE


async def _in_thread(handler: Any, event: dict[str, Any]) -> Any:
    return await asyncio.to_thread(handler, event, None)
