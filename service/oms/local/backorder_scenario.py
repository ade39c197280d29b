"""`oms demo --scenario backorder` (CONTRACT.md §6f): two SKUs that may be backordered, answered
by the emulated supplier (oms.local.supplier) through the events queue.

- FILL (1 unit, supplier DEMO-ACME): the first order takes the unit and ships at once; the second
  waits BACKORDERED, the supplier confirms (an ETA) and delivers, and it completes.
- REJECT (0 units, supplier DEMO-NOPE, which rejects every order): its order waits BACKORDERED,
  the purchase order is rejected, and it fails BACKORDER_FAILED (stock and hold released).

Checked from the orders, the purchase orders, the stock and the emails SES sent.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Final

from oms.aws import aws_clients
from oms.local.demo import DemoOrder, DemoOrderResult
from oms.local.demo_orders import Scenario, order_body
from oms.local.moto import sent_emails
from oms.local.scenarios import Check, Scene
from oms.orders.client import NoWorkerError, OrderNotFoundError
from oms.orders.contract import FailureReason, OrderState, Step
from oms.purchasing.contract import PurchaseOrderState, purchase_order_id
from oms.purchasing.workflow import PurchaseOrderWorkflow

PROVES = (
    "A SKU short of stock with a supplier does not fail the order: it waits BACKORDERED while "
    "a purchase order goes to the (emulated) supplier, which confirms and delivers; the order "
    "then completes, with one backorder email and one outcome email. A rejected purchase order "
    "fails its order BACKORDER_FAILED with one email; stock ends at what was delivered minus "
    "what shipped."
)
FILLING, REJECTING = "DEMO-ACME", "DEMO-NOPE"
SUPPLIER_STEP_S: Final = 1.0
WITHIN: Final = 180.0
SHIPS_AT_ONCE = Scenario("backorder-in-stock", OrderState.COMPLETED)
FILLED = Scenario("backorder-filled", OrderState.COMPLETED)
REJECTED = Scenario("backorder-rejected", OrderState.FAILED, FailureReason.BACKORDER_FAILED)


def order_side_missing() -> str | None:
    """Why backorders cannot run on this build yet, if they cannot: the worker must register
    PurchaseOrderWorkflow (the order side of §6f: BACKORDERED, the partial reservation)."""
    from oms.worker import WORKFLOWS  # noqa: PLC0415 - the worker's graph only when asked

    if any(issubclass(cls, PurchaseOrderWorkflow) for cls in WORKFLOWS):
        return None
    return "the worker does not run purchase orders yet (the order side of backorders)"


def _order(run: str, name: str, scenario: Scenario, sku: str, customer: int) -> DemoOrder:
    order_id = f"DEMO-{run}-{name}"
    body = order_body(order_id, lines={sku: 1}, customer=customer)
    return DemoOrder(order_id, scenario, body)


class StatesSeen:
    """Polls orders' states while they run: BACKORDERED is a wait, not a step of the result."""

    def __init__(self, scene: Scene, orders: list[DemoOrder]) -> None:
        self.scene, self.orders = scene, orders
        self.seen: dict[str, set[OrderState]] = {o.order_id: set() for o in orders}

    async def watch(self) -> None:
        while True:
            for order in self.orders:
                try:
                    state = (await self.scene.orders.status(order.order_id)).state
                except (NoWorkerError, OrderNotFoundError, RuntimeError):
                    continue  # not started yet, or the server is busy: ask again
                self.seen[order.order_id].add(state)
                # The runner shows the first state and the outcome; this the wait between.
                if state == OrderState.BACKORDERED and order.state != state.value:
                    order.state = state.value
                    self.scene.on_change(order)
            await asyncio.sleep(0.25)


def _emails(subjects: list[str], order_id: str) -> int:
    return sum(f" {order_id} " in f" {s} " for s in subjects)


async def backorder(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    run = uuid.uuid4().hex[:6].upper()
    fill_sku, reject_sku = f"BO-{run}-FILL", f"BO-{run}-REJECT"
    ledger = aws_clients().ledger(scene.stack.settings)
    await asyncio.to_thread(ledger.set_stock, fill_sku, 1, supplier=FILLING)
    await asyncio.to_thread(ledger.set_stock, reject_sku, 0, supplier=REJECTING)
    scene.say(f"{fill_sku}: 1 unit, backordered from {FILLING}; {reject_sku}: none, from "
              f"{REJECTING} (which rejects)")  # fmt: skip
    first = _order(run, "IN-STOCK", SHIPS_AT_ONCE, fill_sku, 1)
    waiting = _order(run, "FILLED", FILLED, fill_sku, 2)
    rejected = _order(run, "REJECTED", REJECTED, reject_sku, 3)
    supplier = scene.stack.start_supplier("auto", SUPPLIER_STEP_S, rejecting=(REJECTING,))
    began = time.monotonic()
    try:
        # The first order alone, to its end: it takes the only unit, so the next one is short.
        await scene.submit([first])
        [shipped] = await scene.runner().follow([first])
        states = StatesSeen(scene, [waiting, rejected])
        watching = asyncio.create_task(states.watch())
        try:
            await scene.submit([waiting, rejected])
            scene.say("two orders short of stock: the supplier answers through the events queue")
            results = [shipped, *await scene.runner().follow([waiting, rejected])]
        finally:
            watching.cancel()
    finally:
        scene.stack.children.stop(supplier)
    scene.say(f"backorders settled in {time.monotonic() - began:.0f}s")
    subjects = [e.subject for e in await asyncio.to_thread(sent_emails, scene.stack.aws_endpoint)]
    for result in results:
        result.emails = _emails(subjects, result.order_id)
    results[1].expected_emails = 2  # backordered (with the ETA), then the outcome
    return await _checks(scene, states, results, (fill_sku, reject_sku)), results


async def _checks(
    scene: Scene, states: StatesSeen, results: list[DemoOrderResult], skus: tuple[str, str]
) -> list[Check]:
    shipped, filled, rejected = results
    fill_sku, reject_sku = skus
    ledger = aws_clients().ledger(scene.stack.settings)
    stock = {sku: await asyncio.to_thread(ledger.get_stock, sku) for sku in skus}
    purchase = {}
    for supplier, sku in ((FILLING, fill_sku), (REJECTING, reject_sku)):
        handle = scene.client.get_workflow_handle_for(
            PurchaseOrderWorkflow.run, purchase_order_id(supplier, sku, 1)
        )
        purchase[sku] = await handle.result()

    def waited(result: DemoOrderResult) -> bool:
        return OrderState.BACKORDERED in states.seen.get(result.order_id, set()) or (
            Step.BACKORDER in result.steps
        )

    def ended(result: DemoOrderResult) -> Check:
        expected = f"{result.expected.value} {result.expected_reason or ''}".strip()
        found = f"{result.state.value if result.state else 'no outcome'} {result.reason or ''}"
        found = found.strip()
        ok = result.state == result.expected and (
            result.expected_reason is None or result.reason == result.expected_reason
        )
        return Check(what=f"{result.order_id} ended {expected}", ok=ok,
                     detail=None if ok else f"expected {expected}, got {found}")  # fmt: skip

    levels = {sku: (lv.available, lv.reserved) if lv else None for sku, lv in stock.items()}
    received = purchase[fill_sku]
    return [
        *(ended(r) for r in results),
        Check(what=f"{shipped.order_id} shipped at once (never BACKORDERED)",
              ok=not waited(shipped)),
        Check(what=f"{filled.order_id} and {rejected.order_id} waited BACKORDERED",
              ok=waited(filled) and waited(rejected)),
        Check(what=f"{received.purchase_order_id} ended RECEIVED: ordered 1, received 1",
              ok=(received.state, received.ordered, received.received)
              == (PurchaseOrderState.RECEIVED, 1, 1),
              detail=f"{received.state} ordered {received.ordered} received {received.received}"),
        Check(what=f"{purchase[reject_sku].purchase_order_id} ended FAILED (rejected)",
              ok=purchase[reject_sku].state == PurchaseOrderState.FAILED,
              detail=purchase[reject_sku].reason),
        Check(what="emails: 1 for the order shipped at once, 2 for the filled one (backordered "
              "with its ETA, then the outcome), 1 for the rejected one",
              ok=(shipped.emails, filled.emails, rejected.emails) == (1, 2, 1),
              detail=f"got {shipped.emails}, {filled.emails}, {rejected.emails}"),
        Check(what="stock: delivered minus shipped, nothing left reserved (0/0 for both SKUs)",
              ok=all(level == (0, 0) for level in levels.values()), detail=f"{levels}"),
    ]  # fmt: skip
