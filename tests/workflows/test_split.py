"""A split order (§6d) through OrderWorkflow: the reservation's plan reaches prepare, capture
and ship; one capture and one ship activity cover every parcel, so it still costs 8 actions."""

from __future__ import annotations

from decimal import Decimal

from oms.orders.contract import OrderState
from oms.orders.payloads import CaptureInput, ParcelPlan, PrepareInput, ShipInput

from .conftest import OrderRunner
from .fakes import FORWARD, FakeSystems

PLAN = [
    ParcelPlan(number=1, warehouse="main", lines={"MUG-RED": 2}),
    ParcelPlan(number=2, warehouse="north", lines={"TEE-L-BLK": 1}),
]


async def test_a_split_order_prepares_captures_and_ships_each_parcel(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(parcels=PLAN)
    outcome = await run_order(systems, scenario="split")
    assert outcome.result.state == OrderState.COMPLETED
    assert systems.log == FORWARD
    prepare: PrepareInput = systems.requests["prepare_shipment"]
    assert prepare.parcels == PLAN
    capture: CaptureInput = systems.requests["capture_payment"]
    assert capture.shares_minor == [2500, 2000]  # the lines' prices; they add up to 45.00
    ship: ShipInput = systems.requests["ship"]
    assert ship.handoff is None
    assert [(p.number, p.warehouse, p.captured) for p in ship.parcels] == [
        (1, "main", Decimal("25.00")),
        (2, "north", Decimal("20.00")),
    ]
    assert [[(line.sku, line.quantity) for line in p.lines] for p in ship.parcels] == [
        [("MUG-RED", 2)],
        [("TEE-L-BLK", 1)],
    ]
    assert outcome.actions == 8


async def test_a_one_parcel_order_passes_no_plan(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    await run_order(systems, scenario="happy-one-parcel")
    assert systems.requests["prepare_shipment"].parcels == []
    assert systems.requests["capture_payment"].shares_minor == []
    ship: ShipInput = systems.requests["ship"]
    assert ship.parcels == []
    assert ship.handoff is not None
