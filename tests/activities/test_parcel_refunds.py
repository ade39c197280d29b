"""One parcel of a two-parcel order refunded against moto: the delivery's refund (resolve
--action refund, returned to sender) gives back that parcel's capture and never more, a retry
refunds nothing new, and the refunds of both parcels never exceed what was captured; the
returned parcel's units go back to its own warehouse."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.testing import ActivityEnvironment

from oms.delivery.activities import DeliveryActivities
from oms.delivery.contract import delivery_id
from oms.delivery.payloads import ParcelLine, ParcelRefundInput, RestockInput
from oms.mail.mailer import Mailer
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.payment import PaymentActivities
from oms.orders.gateway import SimulatedGateway
from oms.orders.ledger import Ledger
from oms.orders.payloads import AuthorizeInput, CaptureInput, ReserveInput
from oms.orders.records import ParcelCapture, Payment, Refund

from .test_split import lines, skus, stock_two_warehouses

RUN = ActivityEnvironment().run


@pytest.fixture(scope="module")
def delivery(ledger: Ledger, gateway: SimulatedGateway, mailer: Mailer) -> DeliveryActivities:
    return DeliveryActivities(ledger=ledger, gateway=gateway, mailer=mailer)


def captured_two_parcels(
    inventory: InventoryActivities, payment: PaymentActivities, ledger: Ledger, order_id: str
) -> tuple[str, str]:
    """Parcel 1 (main): 2 mugs, 25.00 captured; parcel 2 (north): 1 tee, 20.00 captured."""
    mug, tee = skus()
    stock_two_warehouses(ledger, mug, tee)
    RUN(inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=lines(mug, tee)))
    authorize = AuthorizeInput(
        order_id=order_id, amount=Decimal("45.00"), currency="EUR", method="card", token="t"
    )
    RUN(payment.authorize_payment, authorize)
    RUN(
        payment.capture_payment,
        CaptureInput(order_id=order_id, token="t", shares_minor=[2500, 2000]),
    )
    return mug, tee


def refund(delivery: DeliveryActivities, order_id: str, number: int, amount: str) -> Decimal:
    request = ParcelRefundInput(
        order_id=order_id, delivery_id=delivery_id(order_id, number), amount=Decimal(amount)
    )
    return RUN(delivery.refund_parcel, request).amount


def test_each_parcel_refunds_its_own_capture_and_the_two_never_exceed_the_total(
    inventory: InventoryActivities,
    payment: PaymentActivities,
    delivery: DeliveryActivities,
    gateway: SimulatedGateway,
    ledger: Ledger,
    order_id: str,
) -> None:
    captured_two_parcels(inventory, payment, ledger, order_id)

    # Parcel 2 asked for more than its capture (a stale amount): capped at its 20.00.
    second = refund(delivery, order_id, 2, "30.00")
    retried = refund(delivery, order_id, 2, "30.00")
    # Another refund of parcel 2 (a return's key) finds nothing left of that parcel.
    again = gateway.refund(order_id, Decimal("5.00"), idempotency_key="other", parcel=2)
    first = refund(delivery, order_id, 1, "25.00")

    assert (second, retried, again.amount, first) == (
        Decimal("20.00"),
        Decimal("20.00"),
        Decimal("0"),
        Decimal("25.00"),
    )
    books = ledger.get(Payment, order_id)
    assert books is not None
    assert books.refunded == books.captured == Decimal("45.00")
    captures = [ledger.get(ParcelCapture, order_id, f"CAPTURE#{n}") for n in (1, 2)]
    assert [(c.amount, c.refunded) for c in captures if c] == [
        (Decimal("25.00"), Decimal("25.00")),
        (Decimal("20.00"), Decimal("20.00")),
    ]
    kept = ledger.get(Refund, order_id, f"REFUND#refund-{delivery_id(order_id, 2)}")
    assert kept is not None
    assert kept.parcel == 2


def test_a_parcel_refund_leaves_the_other_parcels_capture_refundable(
    inventory: InventoryActivities,
    payment: PaymentActivities,
    delivery: DeliveryActivities,
    gateway: SimulatedGateway,
    ledger: Ledger,
    order_id: str,
) -> None:
    captured_two_parcels(inventory, payment, ledger, order_id)

    assert refund(delivery, order_id, 1, "25.00") == Decimal("25.00")
    # The whole order's refund (no parcel) is still capped by the payment's books alone.
    rest = gateway.refund(order_id, None, idempotency_key="rest")

    assert rest.amount == Decimal("20.00")
    books = ledger.get(Payment, order_id)
    assert books is not None
    assert books.refunded == Decimal("45.00")


def test_returned_to_sender_restocks_the_parcels_own_warehouse_once(
    inventory: InventoryActivities,
    payment: PaymentActivities,
    delivery: DeliveryActivities,
    ledger: Ledger,
    order_id: str,
) -> None:
    _, tee = captured_two_parcels(inventory, payment, ledger, order_id)
    north_before, main_before = ledger.get_stock(tee, "north"), ledger.get_stock(tee)
    request = RestockInput(
        order_id=order_id,
        delivery_id=delivery_id(order_id, 2),
        warehouse="north",
        lines=[ParcelLine(sku=tee, quantity=1, unit_price=Decimal("20.00"))],
    )

    assert RUN(delivery.restock_parcel, request).changed
    assert not RUN(delivery.restock_parcel, request).changed

    north, main = ledger.get_stock(tee, "north"), ledger.get_stock(tee)
    assert north is not None
    assert north_before is not None
    assert north.available == north_before.available + 1
    assert main is not None
    assert main_before is not None
    assert main.available == main_before.available  # not to `main`, where it never was
