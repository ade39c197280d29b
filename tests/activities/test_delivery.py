"""Delivery's ledger side against moto: the ship step hands a parcel off once per tracking
number, the parcel's restock and reship are idempotent, the tracking number finds its delivery."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.testing import ActivityEnvironment

from oms.delivery.activities import DeliveryActivities
from oms.delivery.payloads import ParcelLine, ReshipInput, RestockInput
from oms.delivery.tracking import TrackingBook
from oms.mail.mailer import Mailer
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.gateway import SimulatedGateway
from oms.orders.ledger import Ledger
from oms.orders.models import OrderLine
from oms.orders.payloads import ParcelHandoff, PrepareInput, ReserveInput, ShipInput


@pytest.fixture(scope="session")
def delivery(ledger: Ledger, gateway: SimulatedGateway, mailer: Mailer) -> DeliveryActivities:
    return DeliveryActivities(ledger=ledger, gateway=gateway, mailer=mailer)


def test_ship_hands_the_parcel_off_with_its_tracking_number_on_every_attempt(
    ledger: Ledger, inventory: InventoryActivities, order_id: str, sku: str
) -> None:
    handed: list[tuple[str, str, ParcelHandoff]] = []
    shipping = ShippingActivities(ledger=ledger, handoff=lambda o, t, p: handed.append((o, t, p)))
    line = OrderLine(sku=sku, quantity=1, unit_price=Decimal("5.00"))
    ledger.set_stock(sku, 3)
    run = ActivityEnvironment().run
    run(inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=[line]))
    package = run(shipping.prepare_shipment, PrepareInput(order_id=order_id, lines=[line]))
    parcel = ParcelHandoff(
        lines=[line], currency="EUR", captured=Decimal("5.00"), customer_name="A", email="a@b.co"
    )
    request = ShipInput(
        order_id=order_id, package_id=package.package_id, country="GB", handoff=parcel
    )

    first = run(shipping.ship, request)
    again = run(shipping.ship, request)  # a retried attempt

    assert first == again
    assert handed == [(order_id, first.tracking_number, parcel)] * 2


def test_restock_puts_the_units_back_once(
    delivery: DeliveryActivities, ledger: Ledger, order_id: str, sku: str
) -> None:
    ledger.set_stock(sku, 4)
    request = RestockInput(
        order_id=order_id,
        delivery_id=f"delivery-{order_id}-1",
        warehouse="main",
        lines=[ParcelLine(sku=sku, quantity=2, unit_price=Decimal("1"))],
    )
    run = ActivityEnvironment().run

    assert run(delivery.restock_parcel, request).changed
    assert not run(delivery.restock_parcel, request).changed

    stock = ledger.get_stock(sku)
    assert stock is not None
    assert stock.available == 6


def test_reship_gives_one_tracking_number_per_attempt_and_routes_it(
    delivery: DeliveryActivities, ledger: Ledger, order_id: str
) -> None:
    def reship(attempt: int) -> str:
        request = ReshipInput(
            order_id=order_id,
            delivery_id=f"delivery-{order_id}-1",
            attempt=attempt,
            warehouse="main",
            lines=[ParcelLine(sku="X", quantity=1, unit_price=Decimal("1"))],
        )
        return ActivityEnvironment().run(delivery.reship_parcel, request).tracking_number

    first = reship(1)

    assert reship(1) == first
    assert reship(2) != first
    assert TrackingBook(ledger).delivery_of(first) == f"delivery-{order_id}-1"
    assert TrackingBook(ledger).delivery_of("TRK-UNKNOWN") is None
