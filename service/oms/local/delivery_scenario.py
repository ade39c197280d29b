"""`oms demo --scenario delivery`: completed orders' parcels followed to the door by the emulated
carrier (oms.local.carrier), checked from the deliveries and from the emails SES sent."""

from __future__ import annotations

import asyncio
import uuid

from oms.delivery.client import DeliveryClient
from oms.delivery.contract import CarrierStatus, DeliveryEmail, DeliveryState
from oms.delivery.payloads import DeliveryStatus
from oms.local.carrier import plan_for
from oms.local.demo import DemoOrder, DemoOrderResult
from oms.local.demo_orders import scenario_body
from oms.local.moto import sent_emails
from oms.local.scenarios import HAPPY, Check, Scene
from oms.orders.contract import OrderState
from oms.polling import poll_until

PROVES = (
    "Every parcel of a completed order is followed to the door: the emulated carrier's events "
    "reach its delivery, which ends DELIVERED, and the customer got each milestone email "
    "(out for delivery, delivered) exactly once and in order."
)
CARRIER_STEP_S = 1.0
MILESTONES = {
    CarrierStatus.OUT_FOR_DELIVERY: DeliveryEmail.OUT_FOR_DELIVERY,
    CarrierStatus.DELIVERED: DeliveryEmail.DELIVERED,
}
SUBJECT_WORDS = {
    DeliveryEmail.OUT_FOR_DELIVERY: "is out for delivery",
    DeliveryEmail.DELIVERED: "was delivered",
}


def expected_emails(parcel: DeliveryStatus) -> list[DeliveryEmail]:
    """The milestone emails the carrier's plan for this parcel leads to, in order."""
    return [MILESTONES[s] for s in plan_for(parcel.tracking_number) if s in MILESTONES]


def parcel_checks(parcels: list[DeliveryStatus], subjects: list[str]) -> list[Check]:
    """Each parcel DELIVERED with its milestone emails in order; SES sent each milestone once
    per parcel that expects it (the parcels of one order share its subjects)."""
    checks = []
    for parcel in parcels:
        expected = expected_emails(parcel)
        milestones = [e for e in parcel.emails if e in SUBJECT_WORDS]
        token = f"order {parcel.order_id} "
        siblings = [p for p in parcels if p.order_id == parcel.order_id]
        wanted = {e.value: sum(e in expected_emails(p) for p in siblings) for e in expected}
        sent = {
            email.value: sum(token in s and SUBJECT_WORDS[email] in s for s in subjects)
            for email in expected
        }
        checks += [
            Check(what=f"{parcel.delivery_id} ({parcel.tracking_number}) ended {parcel.state}",
                  ok=parcel.state == DeliveryState.DELIVERED),
            Check(what=f"{parcel.delivery_id}: milestone emails {[e.value for e in milestones]}",
                  ok=milestones == expected and sent == wanted,
                  detail=None if milestones == expected and sent == wanted else
                  f"expected {[e.value for e in expected]} ({wanted} for the order), "
                  f"SES sent {sent}"),
        ]  # fmt: skip
    return checks


async def delivery(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    carrier = scene.stack.start_carrier(CARRIER_STEP_S)
    try:
        orders = [
            DemoOrder(order_id, HAPPY, scenario_body(HAPPY, order_id, customer=n + 1))
            for n, order_id in enumerate(
                f"DEMO-{uuid.uuid4().hex[:6].upper()}-DELIVERY" for _ in range(2 + extra)
            )
        ]
        await scene.submit(orders)
        results = await scene.runner().follow(orders)
        done = [r.order_id for r in results if r.state == OrderState.COMPLETED]
        scene.say(f"{len(done)} orders shipped; the emulated carrier takes it from here")
        deliveries = DeliveryClient(scene.client)

        async def all_parcels() -> list[DeliveryStatus]:
            found = await asyncio.gather(*(deliveries.parcels(order_id) for order_id in done))
            return [p for parcels in found for p in parcels]

        parcels = await poll_until(
            all_parcels,
            # DELIVERED is the state as soon as the event is in; its email follows.
            lambda ps: bool(ps) and all(DeliveryEmail.DELIVERED in p.emails for p in ps),
            within=120, what="every parcel delivered", first=0.5, most=0.5,
        )  # fmt: skip
        scene.say(f"{len(parcels)} parcels delivered")
    finally:
        scene.stack.children.stop(carrier)
    subjects = [e.subject for e in await asyncio.to_thread(sent_emails, scene.stack.aws_endpoint)]
    checks = [
        Check(what=f"{len(done)} of {len(orders)} orders completed",
              ok=len(done) == len(orders)),
    ]  # fmt: skip
    return checks + parcel_checks(parcels, subjects), results
