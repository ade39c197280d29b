"""PurchaseOrderWorkflow on the time-skipping server with fake activities and listening orders:
confirm then deliver; reject; no confirmation; late past the grace; two orders on one purchase
order with a partial delivery (the oldest served first); a join after placement goes to the next
purchase order; a withdrawn order is not ordered. Every history is replayed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from oms.orders.backorder_wire import BackorderNews
from oms.orders.contract import order_workflow_id
from oms.purchasing.client import PurchaseOrderClient, PurchaseOrderTimings
from oms.purchasing.contract import PurchaseOrderState, SupplierStatus
from oms.purchasing.payloads import PurchaseOrderStatus, SupplierEvent
from oms.purchasing.workflow import PurchaseOrderWorkflow

from .fakes import FakeSupplierSide, ListeningOrder, Numbers

COLLECT = 60.0
CONFIRM = timedelta(hours=48)
GRACE = timedelta(days=7)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Shop:
    env: WorkflowEnvironment
    client: PurchaseOrderClient
    side: FakeSupplierSide
    queue: str
    supplier: str
    sku: str
    pids: set[str]

    async def order(self, quantity: int, *, since: datetime = T0) -> tuple[str, WorkflowHandle]:
        oid = f"O-{uuid.uuid4().hex[:8]}"
        handle = await self.env.client.start_workflow(
            ListeningOrder.run, id=order_workflow_id(oid), task_queue=self.queue
        )
        pid = await self.client.join(
            supplier=self.supplier, sku=self.sku, order_id=oid, quantity=quantity, since=since
        )
        self.pids.add(pid)
        return pid, handle

    async def event(self, pid: str, status: SupplierStatus, **fields: object) -> None:
        event = SupplierEvent(event_id=uuid.uuid4().hex, status=status, **fields)  # type: ignore[arg-type]
        await self.env.client.get_workflow_handle(pid).signal("supplier_event", event)

    async def result(self, pid: str) -> PurchaseOrderStatus:
        handle = self.env.client.get_workflow_handle_for(PurchaseOrderWorkflow.run, pid)
        return await handle.result()

    async def eta(self, days: int = 10) -> date:
        return (await self.env.get_current_time() + timedelta(days=days)).date()

    async def placed(self) -> None:
        await self.env.sleep(COLLECT + 1)


@pytest.fixture
async def shop(time_env: WorkflowEnvironment) -> AsyncIterator[Shop]:
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    side = FakeSupplierSide()
    timings = PurchaseOrderTimings(
        collect_seconds=COLLECT,
        confirm_seconds=CONFIRM.total_seconds(),
        grace_seconds=GRACE.total_seconds(),
        attention_after_seconds=300,
    )
    client = PurchaseOrderClient(time_env.client, Numbers(), task_queue=queue, timings=timings)
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    shop = Shop(time_env, client, side, queue, "ACME", sku, set())
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[PurchaseOrderWorkflow, ListeningOrder],
        activities=side.activities(),
    ):
        yield shop
    replayer = Replayer(workflows=[PurchaseOrderWorkflow], data_converter=pydantic_data_converter)
    for pid in sorted(shop.pids):
        history = await time_env.client.get_workflow_handle(pid).fetch_history()
        await replayer.replay_workflow(history)


def statuses(news: list[BackorderNews]) -> list[str]:
    return [n.status for n in news]


async def test_confirmed_then_delivered_fills_the_order_and_ends_received(shop: Shop) -> None:
    pid, order = await shop.order(2)
    await shop.placed()
    eta = await shop.eta()
    await shop.event(pid, SupplierStatus.CONFIRMED, eta=eta)
    await shop.event(pid, SupplierStatus.DELIVERED, quantity=2)

    news = await order.result()
    ended = await shop.result(pid)

    assert statuses(news) == ["CONFIRMED", "FILLED"]
    assert news[0].eta == eta
    assert [p.quantity for p in shop.side.placed] == [2]
    assert ended.state == PurchaseOrderState.RECEIVED
    assert shop.side.leftovers == []


async def test_a_rejection_fails_every_waiting_order(shop: Shop) -> None:
    pid, first = await shop.order(1)
    same, second = await shop.order(3)
    await shop.placed()
    await shop.event(pid, SupplierStatus.REJECTED)

    assert same == pid
    for order in (first, second):
        news = await order.result()
        assert statuses(news) == ["FAILED"]
        assert "rejected" in (news[0].detail or "")
    assert (await shop.result(pid)).state == PurchaseOrderState.FAILED
    assert [p.quantity for p in shop.side.placed] == [4]


async def test_no_confirmation_within_the_window_fails_the_orders(shop: Shop) -> None:
    _pid, order = await shop.order(1)

    news = await order.result()

    assert statuses(news) == ["FAILED"]
    assert "no confirmation" in (news[0].detail or "")
    # From the order's own history (server times), not the clock after the result: once the
    # order is over, the test server may skip on to other tests' timers.
    events = (await order.fetch_history()).events
    waited = events[-1].event_time.ToDatetime() - events[0].event_time.ToDatetime()
    assert CONFIRM <= waited < CONFIRM + timedelta(hours=1)


async def test_a_delivery_late_past_the_grace_fails_and_a_late_event_changes_nothing(
    shop: Shop,
) -> None:
    pid, order = await shop.order(1)
    await shop.placed()
    now = await shop.env.get_current_time()
    eta = (now + timedelta(days=3)).date()
    await shop.event(pid, SupplierStatus.CONFIRMED, eta=eta)

    news = await order.result()
    ended = await shop.result(pid)

    assert statuses(news) == ["CONFIRMED", "FAILED"]
    assert "not delivered" in (news[-1].detail or "")
    assert ended.state == PurchaseOrderState.FAILED
    assert ended.deadline is not None
    assert ended.deadline >= datetime.combine(eta, datetime.min.time(), tzinfo=UTC) + GRACE
    assert await shop.env.get_current_time() >= ended.deadline


async def test_a_partial_delivery_serves_the_oldest_order_first(shop: Shop) -> None:
    # The younger order joins first; the older one (by its start) is still served first.
    pid, younger = await shop.order(1, since=T0 + timedelta(minutes=5))
    same, older = await shop.order(2, since=T0)
    await shop.placed()
    # No skipping from here: the purchase order's deadline must not pass between deliveries.
    with shop.env.auto_time_skipping_disabled():
        await shop.event(pid, SupplierStatus.CONFIRMED, eta=await shop.eta())
        await shop.event(pid, SupplierStatus.DELIVERED, quantity=2)
        filled = await older.result()
        assert same == pid
        assert statuses(filled) == ["CONFIRMED", "FILLED"]
        assert [[f.order_id for f in fill.fills] for fill in shop.side.fills] == [[_oid(older)]]
        await shop.event(pid, SupplierStatus.DELIVERED, quantity=1)
        assert statuses(await younger.result()) == ["CONFIRMED", "FILLED"]
        ended = await shop.result(pid)
    assert (ended.state, ended.received, ended.ordered) == (PurchaseOrderState.RECEIVED, 3, 3)


def _oid(handle: WorkflowHandle) -> str:
    return handle.id.removeprefix("order-")


async def test_demand_after_placement_joins_the_next_purchase_order(shop: Shop) -> None:
    first, order = await shop.order(1)
    await shop.placed()
    second, later = await shop.order(1)

    assert first.endswith("-1")
    assert second.endswith("-2")
    assert [p.quantity for p in shop.side.placed] == [1]
    for pid in (first, second):
        await shop.placed()
        await shop.event(pid, SupplierStatus.DELIVERED, quantity=1)
    assert statuses(await order.result()) == ["FILLED"]
    assert statuses(await later.result()) == ["FILLED"]


async def test_a_withdrawn_order_is_not_ordered_and_leftovers_go_to_stock(shop: Shop) -> None:
    pid, kept = await shop.order(1)
    _, gone = await shop.order(2)
    await shop.env.client.get_workflow_handle(pid).signal(
        "withdraw_demand", {"orderId": _oid(gone)}
    )
    await shop.placed()
    await shop.event(pid, SupplierStatus.DELIVERED, quantity=3)  # the supplier sent more

    assert statuses(await kept.result()) == ["FILLED"]
    ended = await shop.result(pid)
    assert ended.ordered == 1
    assert [(x.quantity) for x in shop.side.leftovers] == [2]
    await gone.terminate()
