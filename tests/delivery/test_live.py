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
from decimal import Decimal
from typing import Any, cast

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.history import actions
from oms.aws import AwsClients
from oms.cli import context
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
from oms.orders.records import Payment
from oms.polling import poll_until
from oms.resources import QueueUrls
from oms.returns.book import NotReturnableError
from oms.returns.client import ReturnClient
from oms.worker import WORKFLOWS, build_activities
from tests.cli.conftest import invoke

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


async def test_a_split_order_ships_two_parcels_returns_and_refunds_each_from_its_capture(
    dev_env: WorkflowEnvironment,
    clients: AwsClients,
    settings: Settings,
    delivering_queue: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two warehouses: two parcels, captured 25.00 + 30.00; `oms status --json` shows each
    parcel's capture; the undelivered parcel is not returnable; a return refunds from parcel 1's
    capture, the carrier's exception on parcel 2 is settled by refund, and the refunds add up
    to exactly what was captured."""
    ledger = clients.ledger(settings)
    tag = uuid.uuid4().hex[:8].upper()
    mug, lamp = f"MUG-{tag}", f"LAMP-{tag}"
    ledger.set_stock(mug, 5)
    ledger.set_stock(lamp, 0)
    ledger.set_stock(lamp, 4, "north")
    prices = {mug: Decimal("12.50"), lamp: Decimal("30.00")}
    body = order_body(f"DLS-{tag}", lines={mug: 2, lamp: 1}, prices=prices)
    order = parse_order(json.dumps(body))
    orders = OrderClient(dev_env.client, ledger, task_queue=delivering_queue)
    await orders.submit(order)
    await dev_env.client.get_workflow_handle(order_workflow_id(order.order_id)).result()
    deliveries = DeliveryClient(dev_env.client)
    first, second = await deliveries.parcels(order.order_id)

    for cached in (context.settings, context.aws, context.ledger):
        cached.cache_clear()
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("OMS_TASK_QUEUE", delivering_queue)
    shown = await asyncio.to_thread(invoke, "status", order.order_id, "--json")
    assert shown.exit_code == 0, shown.output
    parcels = json.loads(shown.stdout)["parcels"]
    assert [(p["warehouse"], p["captured"]) for p in parcels] == [
        ("main", "25.00"),
        ("north", "30.00"),
    ]
    assert [p["trackingNumber"] for p in parcels] == [first.tracking_number, second.tracking_number]

    router = EventRouter(
        client=dev_env.client, tracking=TrackingBook(ledger), sqs=cast(Any, None), dlq_url=""
    )
    event = carrier_event_body(first.tracking_number, CarrierStatus.DELIVERED)
    await router.route_event(Message(message_id=uuid.uuid4().hex, body=event))
    await poll_until(
        lambda: deliveries.parcels(order.order_id),
        lambda found: found[0].state == DeliveryState.DELIVERED,
        within=30,
        what="parcel 1 delivered",
    )
    returns = ReturnClient(orders)
    with pytest.raises(NotReturnableError, match="parcel 2 is AWAITING_PICKUP, not delivered"):
        await returns.open(order.order_id, {lamp: 1}, reason="n/a")
    opened = await returns.open(order.order_id, {mug: 2}, reason="chipped", parcel=1)
    await returns.receive(opened.return_id, None)
    returned = await returns.result(opened.return_id)
    assert returned.refund_amount == Decimal("25.00")

    event = carrier_event_body(second.tracking_number, CarrierStatus.EXCEPTION)
    await router.route_event(Message(message_id=uuid.uuid4().hex, body=event))
    await poll_until(
        lambda: deliveries.parcels(order.order_id),
        lambda found: found[1].attention is not None,
        within=30,
        what="parcel 2 needing a person",
    )
    settled = await deliveries.resolve(order.order_id, ResolveAction.REFUND, "lost", number=2)
    assert settled.accepted
    handle = dev_env.client.get_workflow_handle_for(DeliveryWorkflow.run, second.delivery_id)
    assert (await handle.result()).refunded == Decimal("30.00")
    books = ledger.get(Payment, order.order_id)
    assert books is not None
    assert books.refunded == books.captured == Decimal("55.00")
