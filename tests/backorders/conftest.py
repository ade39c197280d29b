"""Backorders end to end on the time-skipping server: the real OrderWorkflow and the real
PurchaseOrderWorkflow on one worker, the product's backorder activities (join and withdraw
through `PurchaseOrderJoin` and `PurchaseOrderClient`), every other activity faked in memory
(`FakeShop`). Every history is replayed afterwards; `OMS_RECORD_HISTORIES=1` records them into
`histories/` (the replay gate's fixtures)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from oms.local.demo_orders import order_body
from oms.orders.activities.backorder import BackorderActivities
from oms.orders.contract import (
    ORDER_STATUS_ATTRIBUTE,
    ORDER_STATUS_KEY,
    OrderState,
    SearchStatus,
    order_workflow_id,
)
from oms.orders.models import parse_order
from oms.orders.payloads import OrderInput, OrderStatus
from oms.orders.workflow import OrderWorkflow
from oms.polling import poll_until
from oms.purchasing.client import PurchaseOrderClient, PurchaseOrderTimings
from oms.purchasing.contract import SupplierStatus, purchase_order_id
from oms.purchasing.joiner import PurchaseOrderJoin
from oms.purchasing.payloads import PurchaseOrderStatus, SupplierEvent
from oms.purchasing.workflow import PurchaseOrderWorkflow
from tests.purchasing.fakes import Numbers
from tests.time_skipping import time_skipping_env

from .fakes import FakeShop

HISTORIES = Path(__file__).parent / "histories"
COLLECT = timedelta(minutes=1)
CONFIRM = timedelta(hours=48)
GRACE = timedelta(days=7)
SUPPLIER = "ACME"


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_env(ORDER_STATUS_ATTRIBUTE) as env:
        yield env


@dataclass
class Stage:
    """One test's shop: a SKU with a supplier, its orders and purchase orders."""

    env: WorkflowEnvironment
    shop: FakeShop
    queue: str
    sku: str
    recorded: list[tuple[str, str]] = field(default_factory=list)  # (name, workflow id)

    async def order(self, quantity: int, name: str) -> WorkflowHandle[Any, OrderStatus]:
        oid = f"BO-{uuid.uuid4().hex[:10]}"
        order = parse_order(json.dumps(order_body(oid, lines={self.sku: quantity})))
        handle = await self.env.client.start_workflow(
            OrderWorkflow.run,
            OrderInput(order=order),
            id=order_workflow_id(oid),
            task_queue=self.queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ORDER_STATUS_KEY, SearchStatus.IN_PROGRESS.value)]
            ),
        )
        self.recorded.append((name, handle.id))
        return handle

    def po(self, number: int = 1) -> str:
        return purchase_order_id(SUPPLIER, self.sku, number)

    async def status(self, handle: WorkflowHandle[Any, OrderStatus]) -> OrderStatus:
        return await handle.query(OrderWorkflow.status)

    async def backordered(self, handle: WorkflowHandle[Any, OrderStatus]) -> OrderStatus:
        return await poll_until(
            lambda: self.status(handle),
            lambda s: s.state == OrderState.BACKORDERED,
            within=30,
            what=f"{handle.id} to wait BACKORDERED",
        )

    async def ended(self, handle: WorkflowHandle[Any, OrderStatus]) -> OrderStatus:
        """Its outcome, without skipping time (a `result()` would let other timers fire)."""
        return await poll_until(
            lambda: self.status(handle),
            lambda s: s.state.terminal and s.step is None,
            within=30,
            what=f"{handle.id} to end",
        )

    async def placed(self, pid: str | None = None) -> None:
        """Let the collection window pass (time skips), then wait for the placement."""
        pid = pid or self.po()
        await self.env.sleep(COLLECT.total_seconds() + 1)
        await poll_until(
            lambda: self.po_status(pid),
            lambda s: s.state != "COLLECTING",
            within=30,
            what=f"{pid} to be placed",
        )

    async def po_status(self, pid: str) -> PurchaseOrderStatus:
        handle = self.env.client.get_workflow_handle_for(PurchaseOrderWorkflow.run, pid)
        return await handle.query(PurchaseOrderWorkflow.status)

    async def po_result(self, pid: str) -> PurchaseOrderStatus:
        handle = self.env.client.get_workflow_handle_for(PurchaseOrderWorkflow.run, pid)
        return await handle.result()

    async def event(self, pid: str, status: SupplierStatus, **fields: Any) -> None:
        event = SupplierEvent(event_id=uuid.uuid4().hex, status=status, **fields)
        await self.env.client.get_workflow_handle(pid).signal("supplier_event", event)

    async def today(self, days: int = 0) -> date:
        now: datetime = await self.env.get_current_time()
        return (now.astimezone(UTC) + timedelta(days=days)).date()

    async def emails_of(self, handle: WorkflowHandle[Any, OrderStatus], count: int) -> list[str]:
        oid = handle.id.removeprefix("order-")
        await poll_until(
            lambda: asyncio.sleep(0, self.shop.emails[oid]),
            lambda emails: len(emails) >= count,
            within=30,
            what=f"{count} emails to {oid}",
        )
        return [e.event or e.outcome for e in self.shop.emails[oid]]


@pytest.fixture
async def stage(time_env: WorkflowEnvironment) -> AsyncIterator[Stage]:
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    sku = f"SKU{uuid.uuid4().hex[:6].upper()}"
    shop = FakeShop(available={sku: 0}, suppliers={sku: SUPPLIER})
    timings = PurchaseOrderTimings(
        collect_seconds=COLLECT.total_seconds(),
        confirm_seconds=CONFIRM.total_seconds(),
        grace_seconds=GRACE.total_seconds(),
        attention_after_seconds=300,
    )
    client = PurchaseOrderClient(time_env.client, Numbers(), task_queue=queue, timings=timings)
    join = PurchaseOrderJoin(client=client, loop=asyncio.get_running_loop())
    backorders = BackorderActivities(suppliers=join)
    stage = Stage(time_env, shop, queue, sku)
    with ThreadPoolExecutor(4, thread_name_prefix="backorder-test") as executor:
        async with Worker(
            time_env.client,
            task_queue=queue,
            workflows=[OrderWorkflow, PurchaseOrderWorkflow],
            activities=[
                *shop.activities(),
                backorders.request_backorder,
                backorders.withdraw_backorder,
            ],
            activity_executor=executor,
        ):
            yield stage
    replayer = Replayer(
        workflows=[OrderWorkflow, PurchaseOrderWorkflow], data_converter=pydantic_data_converter
    )
    record = bool(os.environ.get("OMS_RECORD_HISTORIES"))
    for name, workflow_id in stage.recorded:
        history = await time_env.client.get_workflow_handle(workflow_id).fetch_history()
        await replayer.replay_workflow(history)
        if record:
            HISTORIES.mkdir(exist_ok=True)
            (HISTORIES / f"{name}.json").write_text(history.to_json())
