"""The edit activities against moto (§6g): the stock difference in one transaction, applied once
per revision, all or nothing; the new hold replaces the old one, once per revision."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from oms.orders.activities.edit import EditActivities
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.contract import ErrorType
from oms.orders.gateway import SimulatedGateway
from oms.orders.ledger import Ledger
from oms.orders.models import OrderLine
from oms.orders.payloads import (
    AdjustInput,
    AuthorizeInput,
    CaptureInput,
    ReauthorizeInput,
    ReserveInput,
)
from oms.orders.records import Payment, Reservation


@pytest.fixture
def edits(ledger: Ledger, gateway: SimulatedGateway) -> EditActivities:
    return EditActivities(ledger=ledger, gateway=gateway)


def stock(ledger: Ledger, sku: str) -> tuple[int, int]:
    level = ledger.get_stock(sku)
    assert level is not None
    return level.available, level.reserved


@pytest.fixture
def reserved(ledger: Ledger, inventory: InventoryActivities, order_id: str, sku: str) -> str:
    """`sku`: 10 in stock, 2 reserved by the order."""
    ledger.set_stock(sku, 10)
    line = OrderLine(sku=sku, quantity=2, unit_price=Decimal("12.50"))
    ActivityEnvironment().run(
        inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=[line])
    )
    return sku


def test_more_units_are_taken_once_per_revision(
    edits: EditActivities, ledger: Ledger, order_id: str, reserved: str
) -> None:
    request = AdjustInput(order_id=order_id, revision=1, before={reserved: 2}, after={reserved: 5})
    assert not ActivityEnvironment().run(edits.adjust_reservation, request).already_applied
    assert ActivityEnvironment().run(edits.adjust_reservation, request).already_applied  # retry
    assert stock(ledger, reserved) == (5, 5)
    record = ledger.get(Reservation, order_id)
    assert record is not None
    assert (record.lines, record.revision) == ({reserved: 5}, 1)


def test_fewer_units_are_put_back(
    edits: EditActivities, ledger: Ledger, order_id: str, reserved: str
) -> None:
    request = AdjustInput(order_id=order_id, revision=1, before={reserved: 2}, after={reserved: 1})
    ActivityEnvironment().run(edits.adjust_reservation, request)
    assert stock(ledger, reserved) == (9, 1)


def test_not_enough_stock_changes_nothing(
    edits: EditActivities, ledger: Ledger, order_id: str, reserved: str
) -> None:
    request = AdjustInput(order_id=order_id, revision=1, before={reserved: 2}, after={reserved: 11})
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(edits.adjust_reservation, request)
    assert raised.value.type == ErrorType.OUT_OF_STOCK
    assert stock(ledger, reserved) == (8, 2)
    record = ledger.get(Reservation, order_id)
    assert record is not None
    assert (record.lines, record.revision) == ({reserved: 2}, 0)


def test_the_new_hold_replaces_the_old_once_and_never_after_capture(
    edits: EditActivities, gateway: SimulatedGateway, ledger: Ledger, order_id: str
) -> None:
    first = gateway.authorize(
        AuthorizeInput(
            order_id=order_id,
            amount=Decimal("12.345"),
            currency="KWD",
            method="card",
            token="tok_visa",
        ),
        idempotency_key="a",
    )
    request = ReauthorizeInput(
        order_id=order_id, revision=1, amount=Decimal("20.5"), currency="KWD", token="tok_visa"
    )
    held = ActivityEnvironment().run(edits.reauthorize_payment, request)
    again = ActivityEnvironment().run(edits.reauthorize_payment, request)
    assert held == again
    assert held.authorization_id != first.authorization_id
    assert held.amount_minor == 20500
    books = ledger.get(Payment, order_id)
    assert books is not None
    assert (books.amount, books.holds, books.revision) == (Decimal("20.500"), 2, 1)
    gateway.capture(CaptureInput(order_id=order_id, token="tok_visa"), idempotency_key="c")
    later = request.model_copy(update={"revision": 2, "amount": Decimal("1")})
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(edits.reauthorize_payment, later)
    assert raised.value.type == ErrorType.EDIT_REFUSED
