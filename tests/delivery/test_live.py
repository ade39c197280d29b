"""On the real dev server with the product's activities (moto): a shipped order hands its
parcel to a delivery workflow from inside the ship activity (the order's own history keeps its
8 billable actions), and carrier events through the events intake deliver it: one email per
milestone, in order."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, cast

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.history import actions
from oms.aws import AwsClients
from oms.config import Settings
from oms.delivery.client import DeliveryClient, carrier_event_body
from oms.delivery.contract import CarrierStatus, DeliveryEmail, DeliveryState, ResolveAction
from oms.delivery.handoff import DeliveryHandoff
from oms.delivery.tracking import TrackingBook
from oms.delivery.workflow import DeliveryWorkflow
from oms.events.router import EventOutcome, EventRouter
from oms.intake.records import Message
from oms.local.demo_orders import order_body
from oms.orders.client import OrderClient, Submission
from oms.orders.contract import OrderState, SearchStatus, order_workflow_id
from oms.orders.models import parse_order
from oms.polling import poll_until
from oms.resources import QueueUrls
from oms.worker import WORKFLOWS, build_activities

pytestmark = pytest.mark.e2e


@pytest.fixture
async def delivering_queue(
    dev_env: WorkflowEnvironment, clients: AwsClients, settings: Settings, queues: QueueUrls
) -> AsyncIterator[str]:
    """A worker whose ship step hands parcels off (as `oms worker` does)."""
    queue = f"deliver-{uuid.uuid4().hex[:8]}"
    tuned = settings.model_copy(update={"task_queue": queue})
    handoff = DeliveryHandoff(
        client=dev_env.client,
        loop=asyncio.get_running_loop(),
        tracking=TrackingBook(clients.ledger(settings)),
        settings=tuned,
    )
    with ThreadPoolExecutor(4) as executor:
        async with Worker(
            dev_env.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=build_activities(tuned, clients, handoff=handoff),
            activity_executor=executor,
            graceful_shutdown_timeout=timedelta(seconds=2),
        ):
            yield queue


async def test_a_shipped_order_is_followed_to_the_door(
    dev_env: WorkflowEnvironment,
    clients: AwsClients,
    settings: Settings,
    delivering_queue: str,
) -> None:
    ledger = clients.ledger(settings)
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    ledger.set_stock(sku, 5)
    order = parse_order(json.dumps(order_body(f"DLV-{uuid.uuid4().hex[:10]}", lines={sku: 2})))
    orders = OrderClient(dev_env.client, ledger, task_queue=delivering_queue)
    assert await orders.submit(order) == Submission.STARTED
    handle = dev_env.client.get_workflow_handle(order_workflow_id(order.order_id))
    await handle.result()
    assert (await orders.status(order.order_id)).state == OrderState.COMPLETED
    assert actions(list((await handle.fetch_history()).events)) == 8

    deliveries = DeliveryClient(dev_env.client)
    (parcel,) = await deliveries.parcels(order.order_id)
    assert parcel.state == DeliveryState.AWAITING_PICKUP
    router = EventRouter(
        client=dev_env.client,
        tracking=TrackingBook(ledger),
        sqs=cast(Any, None),  # nothing is dead-lettered here
        dlq_url="",
    )
    for status in (
        CarrierStatus.IN_TRANSIT,
        CarrierStatus.OUT_FOR_DELIVERY,
        CarrierStatus.DELIVERED,
    ):
        body = carrier_event_body(parcel.tracking_number, status)
        message = Message(message_id=uuid.uuid4().hex, body=body)
        assert await router.route_event(message) == EventOutcome.ROUTED

    followed = await poll_until(
        lambda: deliveries.parcels(order.order_id),
        lambda found: DeliveryEmail.DELIVERED in found[0].emails,
        within=30,
        what="delivered email",
    )
    assert followed[0].state == DeliveryState.DELIVERED
    assert followed[0].emails == [DeliveryEmail.OUT_FOR_DELIVERY, DeliveryEmail.DELIVERED]


async def test_a_carrier_exception_is_listed_for_a_person_and_refund_settles_it(
    dev_env: WorkflowEnvironment,
    clients: AwsClients,
    settings: Settings,
    delivering_queue: str,
) -> None:
    ledger = clients.ledger(settings)
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    ledger.set_stock(sku, 5)
    order = parse_order(json.dumps(order_body(f"DLX-{uuid.uuid4().hex[:10]}", lines={sku: 1})))
    orders = OrderClient(dev_env.client, ledger, task_queue=delivering_queue)
    await orders.submit(order)
    await dev_env.client.get_workflow_handle(order_workflow_id(order.order_id)).result()
    deliveries = DeliveryClient(dev_env.client)
    (parcel,) = await deliveries.parcels(order.order_id)
    router = EventRouter(
        client=dev_env.client, tracking=TrackingBook(ledger), sqs=cast(Any, None), dlq_url=""
    )
    body = carrier_event_body(parcel.tracking_number, CarrierStatus.EXCEPTION)
    await router.route_event(Message(message_id="m", body=body))

    listed = await poll_until(
        lambda: orders.list(SearchStatus.NEEDS_ATTENTION, limit=100),
        lambda found: parcel.delivery_id in {o.order_id for o in found},
        within=30,
        what="the delivery listed as needing attention",
    )
    assert parcel.delivery_id in {o.order_id for o in listed}
    settled = await deliveries.resolve(order.order_id, ResolveAction.REFUND, "lost by carrier")
    assert settled.accepted

    handle = dev_env.client.get_workflow_handle_for(DeliveryWorkflow.run, parcel.delivery_id)
    final = await handle.result()
    assert final.refunded == order.total_amount  # the real gateway refunded the capture
    assert final.emails == [DeliveryEmail.EXCEPTION, DeliveryEmail.REFUNDED]
    assert final.attention is None
