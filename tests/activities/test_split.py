"""A two-warehouse order through the real activities on moto: reserved per warehouse, one
package, capture and tracking number per parcel (captures add up to the hold), each parcel
handed to the carrier once; released per warehouse when cancelled."""

from __future__ import annotations

import uuid
from decimal import Decimal

from temporalio.testing import ActivityEnvironment

from oms.orders import split
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.payment import PaymentActivities
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.ledger import Ledger
from oms.orders.models import OrderLine, OrderMessage
from oms.orders.payloads import (
    AuthorizeInput,
    CaptureInput,
    OrderRef,
    ParcelHandoff,
    ParcelPlan,
    PrepareInput,
    ReserveInput,
    ShipInput,
)
from oms.orders.records import Package, ParcelCapture, Payment, Reservation

RUN = ActivityEnvironment().run


def skus() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8].upper()
    return f"MUG-{tag}", f"TEE-{tag}"


def stock_two_warehouses(ledger: Ledger, mug: str, tee: str) -> None:
    ledger.set_stock(mug, 5)  # main
    ledger.set_stock(tee, 0)
    ledger.set_stock(tee, 3, "north")


def lines(mug: str, tee: str) -> list[OrderLine]:
    return [
        OrderLine(sku=mug, quantity=2, unit_price=Decimal("12.50")),
        OrderLine(sku=tee, quantity=1, unit_price=Decimal("20.00")),
    ]


def test_main_alone_is_one_parcel_as_before(
    inventory: InventoryActivities, ledger: Ledger, order_id: str
) -> None:
    mug, tee = skus()
    stock_two_warehouses(ledger, mug, tee)
    ledger.set_stock(tee, 1)  # now main holds every line
    result = RUN(
        inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=lines(mug, tee))
    )
    assert result.parcels == []
    reservation = ledger.get(Reservation, order_id)
    assert reservation is not None
    assert reservation.parcels == []
    north = ledger.get_stock(tee, "north")
    assert north is not None
    assert (north.available, north.reserved) == (3, 0)


def test_a_two_warehouse_order_ships_as_two_captured_parcels(
    inventory: InventoryActivities,
    payment: PaymentActivities,
    ledger: Ledger,
    order_id: str,
) -> None:
    mug, tee = skus()
    stock_two_warehouses(ledger, mug, tee)
    order_lines = lines(mug, tee)
    reserved = RUN(inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=order_lines))
    assert reserved.parcels == [
        ParcelPlan(number=1, warehouse="main", lines={mug: 2}),
        ParcelPlan(number=2, warehouse="north", lines={tee: 1}),
    ]
    again = RUN(inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=order_lines))
    assert again.already_reserved
    assert again.parcels == reserved.parcels
    levels = {w: ledger.get_stock(s, w) for s, w in ((mug, "main"), (tee, "north"))}
    assert [(lv.available, lv.reserved) for lv in levels.values() if lv] == [(3, 2), (2, 1)]

    RUN(
        payment.authorize_payment,
        AuthorizeInput(
            order_id=order_id, amount=Decimal("45.00"), currency="EUR", method="card", token="t"
        ),
    )
    capture = CaptureInput(order_id=order_id, token="t", shares_minor=[2500, 2000])
    assert RUN(payment.capture_payment, capture).amount_minor == 4500
    assert RUN(payment.capture_payment, capture).amount_minor == 4500  # a retry takes nothing
    captures = [ledger.get(ParcelCapture, order_id, f"CAPTURE#{n}") for n in (1, 2)]
    assert [c.amount for c in captures if c] == [Decimal("25.00"), Decimal("20.00")]
    books = ledger.get(Payment, order_id)
    assert books is not None
    assert books.captured == Decimal("45.00")

    handed: list[tuple[str, ParcelHandoff]] = []
    shipping = ShippingActivities(ledger=ledger, handoff=lambda _o, t, p: handed.append((t, p)))
    prepared = RUN(
        shipping.prepare_shipment,
        PrepareInput(order_id=order_id, lines=order_lines, parcels=reserved.parcels),
    )
    parcels = [
        ParcelHandoff(
            number=p.number,
            warehouse=p.warehouse,
            lines=[],
            currency="EUR",
            captured=Decimal(0),
            customer_name="A",
            email="a@example.com",
        )
        for p in reserved.parcels
    ]
    ship = ShipInput(
        order_id=order_id, package_id=prepared.package_id, country="GB", parcels=parcels
    )
    first = RUN(shipping.ship, ship)
    RUN(
        shipping.ship, ship
    )  # a retry hands the same parcels off again (the hand-off is idempotent)
    package = ledger.get(Package, order_id)
    assert package is not None
    assert len(package.parcels) == 2
    trackings = [p.tracking_number for p in package.parcels]
    assert first.tracking_number == trackings[0]
    assert len(set(trackings)) == 2
    assert len({p.package_id for p in package.parcels}) == 2
    assert [(t, p.number, p.warehouse) for t, p in handed] == 2 * [
        (trackings[0], 1, "main"),
        (trackings[1], 2, "north"),
    ]
    levels = {w: ledger.get_stock(s, w) for s, w in ((mug, "main"), (tee, "north"))}
    assert [(lv.available, lv.reserved) for lv in levels.values() if lv] == [(3, 0), (2, 0)]


def test_a_split_reservation_is_released_to_each_warehouse(
    inventory: InventoryActivities, ledger: Ledger, order_id: str
) -> None:
    mug, tee = skus()
    stock_two_warehouses(ledger, mug, tee)
    RUN(inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=lines(mug, tee)))
    RUN(inventory.release_inventory, OrderRef(order_id=order_id))
    RUN(inventory.release_inventory, OrderRef(order_id=order_id))
    main, north = ledger.get_stock(mug), ledger.get_stock(tee, "north")
    assert main is not None
    assert (main.available, main.reserved) == (5, 0)
    assert north is not None
    assert (north.available, north.reserved) == (3, 0)


def test_shares_follow_the_lines_and_add_up_to_the_total() -> None:
    message = {
        "orderId": "S-1",
        "customer": {
            "id": "C",
            "name": "Ada",
            "email": "ada@example.com",
            "address": {"line1": "1 St", "city": "London", "postalCode": "N1", "country": "GB"},
        },
        "items": [
            {"sku": "MUG", "quantity": 2, "unitPrice": "12.50"},
            {"sku": "TEE", "quantity": 1, "unitPrice": "20.00"},
        ],
        "payment": {"method": "card", "token": "tok_visa"},
        "currency": "EUR",
        "totalAmount": "45.00",
    }
    order = OrderMessage.model_validate(message)
    parcels = [
        ParcelPlan(number=1, warehouse="main", lines={"MUG": 2}),
        ParcelPlan(number=2, warehouse="north", lines={"TEE": 1}),
    ]
    assert split.shares_minor(order, parcels) == [2500, 2000]
    assert split.shares_minor(order, parcels[:1]) == []
    assert [h.captured for h in split.handoffs(order, parcels)] == [
        Decimal("25.00"),
        Decimal("20.00"),
    ]
