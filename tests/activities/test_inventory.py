"""Inventory against moto: all-or-nothing, never negative, idempotent reserve and release."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from oms.orders.activities.inventory import InventoryActivities
from oms.orders.contract import ErrorType
from oms.orders.ledger import Ledger
from oms.orders.models import OrderLine
from oms.orders.payloads import OrderRef, ReserveInput
from oms.orders.records import StockLevel


def lines(**quantities: int) -> list[OrderLine]:
    return [OrderLine(sku=s, quantity=q, unit_price=Decimal("1.00")) for s, q in quantities.items()]


def stock(ledger: Ledger, sku: str) -> StockLevel:
    level = ledger.get_stock(sku)
    assert level is not None
    return level


@pytest.fixture
def two_skus(ledger: Ledger) -> tuple[str, str]:
    a, b = f"A-{uuid.uuid4().hex[:8]}", f"B-{uuid.uuid4().hex[:8]}"
    ledger.set_stock(a, 5)
    ledger.set_stock(b, 1)
    return a, b


def test_reservation_takes_every_line(
    inventory: InventoryActivities,
    ledger: Ledger,
    two_skus: tuple[str, str],
    order_id: str,
) -> None:
    a, b = two_skus
    ActivityEnvironment().run(
        inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=lines(**{a: 2, b: 1}))
    )
    assert stock(ledger, a) == StockLevel(sku=a, available=3, reserved=2)
    assert stock(ledger, b) == StockLevel(sku=b, available=0, reserved=1)


def test_reservation_is_all_or_nothing_across_lines(
    inventory: InventoryActivities,
    ledger: Ledger,
    two_skus: tuple[str, str],
    order_id: str,
) -> None:
    a, b = two_skus
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(
            inventory.reserve_inventory,
            ReserveInput(order_id=order_id, lines=lines(**{a: 2, b: 2})),
        )
    assert raised.value.type == ErrorType.OUT_OF_STOCK
    assert raised.value.non_retryable
    assert b in str(raised.value)
    assert a not in str(raised.value)
    assert stock(ledger, a).available == 5  # the line that fitted was not taken
    assert stock(ledger, b).available == 1


def test_unknown_sku_is_out_of_stock(inventory: InventoryActivities, order_id: str) -> None:
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(
            inventory.reserve_inventory,
            ReserveInput(order_id=order_id, lines=lines(**{"NO-SUCH-SKU-X": 1})),
        )
    assert raised.value.type == ErrorType.OUT_OF_STOCK


def test_concurrent_orders_for_the_last_units_never_oversell(
    inventory: InventoryActivities,
    ledger: Ledger,
    sku: str,
) -> None:
    ledger.set_stock(sku, 5)

    def attempt(index: int) -> str:
        request = ReserveInput(order_id=f"race-{sku}-{index}", lines=lines(**{sku: 1}))
        try:
            ActivityEnvironment().run(inventory.reserve_inventory, request)
        except ApplicationError as error:
            return str(error.type)
        return "reserved"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert outcomes.count("reserved") == 5
    assert outcomes.count(ErrorType.OUT_OF_STOCK) == 15
    assert stock(ledger, sku) == StockLevel(sku=sku, available=0, reserved=5)


def test_a_retried_reservation_does_not_reserve_twice(
    inventory: InventoryActivities,
    ledger: Ledger,
    sku: str,
    order_id: str,
) -> None:
    ledger.set_stock(sku, 10)
    request = ReserveInput(order_id=order_id, lines=lines(**{sku: 3}))
    first = ActivityEnvironment().run(inventory.reserve_inventory, request)
    again = ActivityEnvironment().run(inventory.reserve_inventory, request)
    assert (first.already_reserved, again.already_reserved) == (False, True)
    assert stock(ledger, sku) == StockLevel(sku=sku, available=7, reserved=3)


def test_release_is_exact_and_idempotent(
    inventory: InventoryActivities,
    ledger: Ledger,
    sku: str,
    order_id: str,
) -> None:
    ledger.set_stock(sku, 10)
    ActivityEnvironment().run(
        inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=lines(**{sku: 4}))
    )
    first = ActivityEnvironment().run(inventory.release_inventory, OrderRef(order_id=order_id))
    again = ActivityEnvironment().run(inventory.release_inventory, OrderRef(order_id=order_id))
    assert (first.undone, again.undone) == (True, False)
    assert stock(ledger, sku) == StockLevel(sku=sku, available=10, reserved=0)


def test_a_late_reservation_after_release_takes_nothing(
    inventory: InventoryActivities,
    ledger: Ledger,
    sku: str,
    order_id: str,
) -> None:
    """Cancelled while the reservation was in flight: the release leaves a tombstone, so the
    attempt that arrives afterwards cannot take stock."""
    ledger.set_stock(sku, 10)
    released = ActivityEnvironment().run(inventory.release_inventory, OrderRef(order_id=order_id))
    assert not released.undone
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(
            inventory.reserve_inventory, ReserveInput(order_id=order_id, lines=lines(**{sku: 2}))
        )
    assert raised.value.type == ErrorType.ALREADY_COMPENSATED
    assert stock(ledger, sku) == StockLevel(sku=sku, available=10, reserved=0)
