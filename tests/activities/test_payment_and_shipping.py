"""Payment and shipment against moto: charged at most once, refunds and cancels idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.ops.inventory import StockLevel, get_stock, set_stock
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.payment import GatewayUnavailableError, PaymentActivities
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.contract import ErrorType
from oms.orders.models import OrderLine
from oms.orders.payloads import ChargeInput, OrderRef, PrepareInput, ReserveInput, ShipInput


def charge(order_id: str, token: str = "tok_visa") -> ChargeInput:
    return ChargeInput(
        order_id=order_id, amount=Decimal("45.00"), currency="EUR", method="card", token=token
    )


def test_a_retried_charge_returns_the_first_charge(
    payment: PaymentActivities, order_id: str
) -> None:
    first = ActivityEnvironment().run(payment.charge_payment, charge(order_id))
    again = ActivityEnvironment().run(payment.charge_payment, charge(order_id))
    assert first == again
    assert first.amount == Decimal("45.00")


def test_declined_is_a_non_retryable_business_error(
    payment: PaymentActivities, order_id: str
) -> None:
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(payment.charge_payment, charge(order_id, "tok_declined"))
    assert raised.value.type == ErrorType.PAYMENT_DECLINED
    assert raised.value.non_retryable
    refund = ActivityEnvironment().run(payment.refund_payment, OrderRef(order_id=order_id))
    assert not refund.undone  # nothing was charged


def test_flaky_token_fails_twice_transiently_then_charges(
    payment: PaymentActivities, order_id: str
) -> None:
    for _ in range(2):
        with pytest.raises(GatewayUnavailableError):  # retryable: not an ApplicationError
            ActivityEnvironment().run(payment.charge_payment, charge(order_id, "tok_flaky"))
    result = ActivityEnvironment().run(payment.charge_payment, charge(order_id, "tok_flaky"))
    assert result.charge_id.startswith("ch_")


def test_refund_is_idempotent(payment: PaymentActivities, order_id: str) -> None:
    ActivityEnvironment().run(payment.charge_payment, charge(order_id))
    first = ActivityEnvironment().run(payment.refund_payment, OrderRef(order_id=order_id))
    again = ActivityEnvironment().run(payment.refund_payment, OrderRef(order_id=order_id))
    assert (first.undone, again.undone) == (True, False)
    with pytest.raises(ApplicationError) as raised:  # a refunded order is never charged again
        ActivityEnvironment().run(payment.charge_payment, charge(order_id))
    assert raised.value.type == ErrorType.ALREADY_COMPENSATED


def test_a_late_charge_after_compensation_does_not_charge(
    payment: PaymentActivities, order_id: str
) -> None:
    voided = ActivityEnvironment().run(payment.refund_payment, OrderRef(order_id=order_id))
    assert not voided.undone
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(payment.charge_payment, charge(order_id))
    assert raised.value.type == ErrorType.ALREADY_COMPENSATED


LINE = OrderLine(sku="SHIP-TEST", quantity=1, unit_price=Decimal("1"))


def prepare(order_id: str) -> PrepareInput:
    return PrepareInput(order_id=order_id, lines=[LINE])


@pytest.fixture
def reserved(inventory: InventoryActivities, clients: AwsClients, settings: Settings,
             order_id: str) -> str:  # fmt: skip
    """Shipping needs the order's stock reserved, as the workflow guarantees."""
    set_stock(clients.dynamodb, settings.inventory_table, LINE.sku, 1_000_000)
    ActivityEnvironment().run(
        inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=[LINE])
    )
    return order_id


def test_prepare_and_ship_are_idempotent(shipping: ShippingActivities, reserved: str) -> None:
    order_id = reserved
    package = ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    assert ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id)) == package
    ship = ShipInput(order_id=order_id, package_id=package.package_id, country="GB")
    shipped = ActivityEnvironment().run(shipping.ship, ship)
    assert ActivityEnvironment().run(shipping.ship, ship) == shipped
    assert shipped.tracking_number.startswith("TRK")


def test_cancel_shipment_is_idempotent_and_blocks_shipping(
    shipping: ShippingActivities, order_id: str
) -> None:
    package = ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    first = ActivityEnvironment().run(shipping.cancel_shipment, OrderRef(order_id=order_id))
    again = ActivityEnvironment().run(shipping.cancel_shipment, OrderRef(order_id=order_id))
    assert (first.undone, again.undone) == (True, False)
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(
            shipping.ship, ShipInput(order_id=order_id, package_id=package.package_id, country="GB")
        )
    assert raised.value.non_retryable


def test_a_shipped_package_cannot_be_cancelled(shipping: ShippingActivities, reserved: str) -> None:
    order_id = reserved
    package = ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    ActivityEnvironment().run(
        shipping.ship, ShipInput(order_id=order_id, package_id=package.package_id, country="GB")
    )
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(shipping.cancel_shipment, OrderRef(order_id=order_id))
    assert raised.value.type == ErrorType.ALREADY_SHIPPED


def test_shipping_takes_the_units_off_the_books_once(
    shipping: ShippingActivities, inventory: InventoryActivities, clients: AwsClients,
    settings: Settings, order_id: str, sku: str,
) -> None:  # fmt: skip
    line = OrderLine(sku=sku, quantity=3, unit_price=Decimal("1"))
    set_stock(clients.dynamodb, settings.inventory_table, sku, 10)
    ActivityEnvironment().run(
        inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=[line])
    )
    package = ActivityEnvironment().run(
        shipping.prepare_shipment, PrepareInput(order_id=order_id, lines=[line])
    )
    ship = ShipInput(order_id=order_id, package_id=package.package_id, country="GB")
    ActivityEnvironment().run(shipping.ship, ship)
    ActivityEnvironment().run(shipping.ship, ship)  # a retry consumes nothing more
    assert get_stock(clients.dynamodb, settings.inventory_table, sku) == StockLevel(
        sku=sku, available=7, reserved=0
    )
    released = ActivityEnvironment().run(inventory.release_inventory, OrderRef(order_id=order_id))
    assert not released.undone  # shipped units never come back as available
    assert get_stock(clients.dynamodb, settings.inventory_table, sku) == StockLevel(
        sku=sku, available=7, reserved=0
    )


def test_a_package_without_a_reservation_does_not_ship(
    shipping: ShippingActivities, order_id: str
) -> None:
    package = ActivityEnvironment().run(shipping.prepare_shipment, prepare(order_id))
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(
            shipping.ship, ShipInput(order_id=order_id, package_id=package.package_id, country="GB")
        )
    assert raised.value.non_retryable
