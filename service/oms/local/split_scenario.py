"""`oms demo --scenario split`: an order that only two warehouses together can serve leaves as
two parcels, each captured for its own lines (the captures add up to the total) and followed to
the door by the emulated carrier; a worker killed with SIGKILL while the parcels are on their way
loses nothing. Checked from the ledger, the deliveries and the emails SES sent."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Final

from oms.aws import aws_clients
from oms.delivery.client import DeliveryClient, carrier_event_body, send_carrier_event
from oms.delivery.contract import CarrierStatus, DeliveryEmail, DeliveryState
from oms.delivery.payloads import DeliveryStatus
from oms.local.delivery_scenario import CARRIER_STEP_S, parcel_checks
from oms.local.demo import DemoOrder, DemoOrderResult
from oms.local.demo_orders import PRICES, order_body
from oms.local.moto import sent_emails
from oms.local.scenarios import HAPPY, Check, Scene
from oms.orders.contract import OrderState
from oms.orders.ledger import Ledger
from oms.orders.records import ParcelCapture, Payment
from oms.polling import poll_until

PROVES = (
    "An order that only two warehouses together can serve leaves as two parcels: two captures "
    "that add up to the total, both parcels delivered by the emulated carrier, each milestone "
    "email exactly once and in order; a worker killed with SIGKILL while they are on their way "
    "loses nothing."
)
SECOND_WAREHOUSE: Final = "north"
NORTH_SKU: Final = "LAMP-BLU"  # stocked only in the second warehouse
NORTH_PRICE: Final = Decimal("30.00")
LINES: Final = {"MUG-RED": 2, NORTH_SKU: 1}


async def split(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    ledger = aws_clients().ledger(scene.stack.settings)
    await asyncio.to_thread(ledger.set_stock, NORTH_SKU, 0)
    await asyncio.to_thread(ledger.set_stock, NORTH_SKU, 100, SECOND_WAREHOUSE)
    prices = {**PRICES, NORTH_SKU: NORTH_PRICE}
    orders = [
        DemoOrder(order_id, HAPPY, order_body(order_id, lines=LINES, prices=prices, customer=n + 1))
        for n, order_id in enumerate(
            f"DEMO-{uuid.uuid4().hex[:6].upper()}-SPLIT" for _ in range(1 + extra)
        )
    ]
    await scene.submit(orders)
    results = await scene.runner().follow(orders)
    done = [r.order_id for r in results if r.state == OrderState.COMPLETED]
    scene.say(f"{len(done)} two-warehouse orders shipped")
    deliveries = DeliveryClient(scene.client)
    shipped = await _parcels_of(deliveries, done)
    carrier = scene.stack.start_carrier(CARRIER_STEP_S)
    try:
        # The crash lands mid-way: once the first carrier event is in, before every delivery.
        await poll_until(
            lambda: _parcels_of(deliveries, done),
            lambda ps: any(p.events for p in ps),
            within=60, what="the first carrier event", first=0.2, most=0.2,
        )  # fmt: skip
        victim = scene.stack.workers[0]
        scene.stack.kill_worker(victim)
        scene.say(f"killed {victim.name} (pid {victim.pid}) with SIGKILL mid-delivery")
        scene.say(f"started {scene.stack.start_worker().name} in its place")
        parcels = await poll_until(
            lambda: _parcels_of(deliveries, done),
            lambda ps: bool(ps) and all(DeliveryEmail.DELIVERED in p.emails for p in ps),
            within=180, what="every parcel delivered", first=0.5, most=0.5,
        )  # fmt: skip
    finally:
        scene.stack.children.stop(carrier)
    scene.say(f"{len(parcels)} parcels delivered")
    subjects = [e.subject for e in await asyncio.to_thread(sent_emails, scene.stack.aws_endpoint)]
    checks = [
        Check(what=f"{len(done)} of {len(orders)} orders completed", ok=len(done) == len(orders)),
        Check(what=f"{len(shipped)} parcels handed to the carrier for {len(done)} orders "
              "(2 each, one per warehouse)",
              ok=len(shipped) == 2 * len(done) and all(_two_warehouses(shipped, o) for o in done)),
    ]  # fmt: skip
    for order_id in done:
        checks += await asyncio.to_thread(capture_checks, ledger, order_id, parcels)
    return checks + parcel_checks(parcels, subjects), results


async def _parcels_of(deliveries: DeliveryClient, order_ids: list[str]) -> list[DeliveryStatus]:
    found = await asyncio.gather(*(deliveries.parcels(order_id) for order_id in order_ids))
    return [p for parcels in found for p in parcels]


def _two_warehouses(parcels: list[DeliveryStatus], order_id: str) -> bool:
    return sorted(p.warehouse for p in parcels if p.order_id == order_id) == sorted(
        ["main", SECOND_WAREHOUSE]
    )


def capture_checks(ledger: Ledger, order_id: str, parcels: list[DeliveryStatus]) -> list[Check]:
    """Each parcel's capture in the ledger is what its delivery says it captured, and the two
    add up to what the order's payment captured (its total)."""
    mine = [p for p in parcels if p.order_id == order_id]
    captures = [ledger.get(ParcelCapture, order_id, f"CAPTURE#{p.number}") for p in mine]
    payment = ledger.get(Payment, order_id)
    amounts = [c.amount if c else None for c in captures]
    followed = [p.captured for p in mine]
    total = payment.captured if payment else None
    return [
        Check(what=f"{order_id}: captures {[str(a) for a in amounts]} add up to {total}",
              ok=None not in amounts and total is not None and payment is not None
              and sum(a for a in amounts if a is not None) == total == payment.amount),
        Check(what=f"{order_id}: each parcel's delivery refunds what its capture took",
              ok=followed == amounts),
    ]  # fmt: skip


async def deliver_now(scene: Scene, order_id: str) -> list[DeliveryStatus]:
    """Say DELIVERED for every parcel of the order, as its carrier would (a return needs its
    units delivered), and wait until each delivery has it."""
    assert scene.stack.queues is not None
    deliveries = DeliveryClient(scene.client)
    events = scene.stack.queues.events
    for parcel in await deliveries.parcels(order_id):
        body = carrier_event_body(
            parcel.tracking_number,
            CarrierStatus.DELIVERED,
            event_id=f"demo-{parcel.tracking_number}-DELIVERED",
        )
        await asyncio.to_thread(send_carrier_event, aws_clients().sqs, events, body)
    return await poll_until(
        lambda: deliveries.parcels(order_id),
        lambda ps: all(p.state == DeliveryState.DELIVERED for p in ps),
        within=60, what=f"the parcels of {order_id} delivered", first=0.2, most=0.2,
    )  # fmt: skip
