"""Shipment against moto: prepare and ship idempotent, cancel idempotent, units off the books
once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.contract import ErrorType
from oms.orders.ledger import Ledger
from oms.orders.models import OrderLine
from oms.orders.payloads import OrderRef, PrepareInput, ReserveInput, ShipInput
from oms.orders.records import Package, RecordState, Reservation, StockLevel

LINE = OrderLine(sku="SHIP-TEST", quantity=1, unit_price=Decimal("1"))


def prepare(order_id: str) -> PrepareInput:
    return PrepareInput(order_id=order_id, lines=[LINE])


def ship_input(order_id: str, package_id: str) -> ShipInput:
    return ShipInput(order_id=order_id, package_id=package_id, country="GB")


@pytest.fixture
def reserved(inventory: InventoryActivities, ledger: Ledger, order_id: str) -> str:
    """Shipping needs the order's stock reserved, as the workflow guarantees."""
    ledger.set_stock(LINE.sku, 1_000_000)
    ActivityEnvironment().run(
        inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=[LINE])
    )
    return order_id


def test_prepare_and_ship_are_idempotent(
    shipping: ShippingActivities, ledger: Ledger, reserved: str
) -> None:
    order_id = reserved
    package = ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    assert ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id)) == package
    assert package.package_id.startswith("PKG-")
    shipped = ActivityEnvironment().run(shipping.ship, ship_input(order_id, package.package_id))
    assert ActivityEnvironment().run(shipping.ship, ship_input(order_id, package.package_id)) == (
        shipped
    )
    assert shipped.tracking_number.startswith("TRK")
    assert shipped.tracking_number.endswith("GB")
    record = ledger.get(Package, order_id)
    assert record is not None
    assert (record.status, record.tracking_number) == (RecordState.SHIPPED, shipped.tracking_number)


def test_cancel_shipment_is_idempotent_and_blocks_shipping(
    shipping: ShippingActivities, reserved: str
) -> None:
    order_id = reserved
    package = ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    first = ActivityEnvironment().run(shipping.cancel_shipment, OrderRef(order_id=order_id))
    again = ActivityEnvironment().run(shipping.cancel_shipment, OrderRef(order_id=order_id))
    assert (first.undone, again.undone) == (True, False)
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(shipping.ship, ship_input(order_id, package.package_id))
    assert raised.value.non_retryable
    assert raised.value.type == ErrorType.ALREADY_COMPENSATED


def test_a_late_preparation_after_cancel_prepares_nothing(
    shipping: ShippingActivities, ledger: Ledger, order_id: str
) -> None:
    cancelled = ActivityEnvironment().run(shipping.cancel_shipment, OrderRef(order_id=order_id))
    assert not cancelled.undone
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    assert raised.value.type == ErrorType.ALREADY_COMPENSATED
    record = ledger.get(Package, order_id)
    assert record is not None
    assert (record.status, record.package_id) == (RecordState.CANCELLED, None)


def test_a_shipped_package_is_not_cancelled(
    shipping: ShippingActivities, ledger: Ledger, reserved: str
) -> None:
    order_id = reserved
    package = ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    ActivityEnvironment().run(shipping.ship, ship_input(order_id, package.package_id))
    result = ActivityEnvironment().run(shipping.cancel_shipment, OrderRef(order_id=order_id))
    assert not result.undone
    assert result.detail == "already shipped"
    record = ledger.get(Package, order_id)
    assert record is not None
    assert record.status == RecordState.SHIPPED


def test_shipping_takes_the_units_off_the_books_once(
    shipping: ShippingActivities, inventory: InventoryActivities, ledger: Ledger,
    order_id: str, sku: str,
) -> None:  # fmt: skip
    line = OrderLine(sku=sku, quantity=3, unit_price=Decimal("1"))
    ledger.set_stock(sku, 10)
    ActivityEnvironment().run(
        inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=[line])
    )
    package = ActivityEnvironment().run(
        shipping.prepare_shipment, PrepareInput(order_id=order_id, lines=[line])
    )
    ship = ship_input(order_id, package.package_id)
    ActivityEnvironment().run(shipping.ship, ship)
    ActivityEnvironment().run(shipping.ship, ship)  # a retry consumes nothing more
    assert ledger.get_stock(sku) == StockLevel(sku=sku, available=7, reserved=0)
    reservation = ledger.get(Reservation, order_id)
    assert reservation is not None
    assert reservation.status == RecordState.CONSUMED
    released = ActivityEnvironment().run(inventory.release_inventory, OrderRef(order_id=order_id))
    assert not released.undone  # shipped units never come back as available
    assert ledger.get_stock(sku) == StockLevel(sku=sku, available=7, reserved=0)


def test_a_package_without_a_reservation_does_not_ship(
    shipping: ShippingActivities, order_id: str
) -> None:
    package = ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(shipping.ship, ship_input(order_id, package.package_id))
    assert raised.value.non_retryable
