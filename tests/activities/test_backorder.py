"""Backorders (§6f) against the moto server: the partial reservation (`tx_stock_exact`), the fill
of owed units into the reservation's nested `lines.#sku` (`tx_fill`), and that a fill and a
cancel's release can never both win."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from oms.orders.activities.inventory import InventoryActivities
from oms.orders.backorder_wire import BackorderLine
from oms.orders.contract import ErrorType
from oms.orders.ledger import Ledger, TransactionConflictError
from oms.orders.models import OrderLine
from oms.orders.payloads import OrderRef, ReserveInput
from oms.orders.records import RecordState, Reservation
from oms.purchasing.activities import PurchasingActivities
from oms.purchasing.payloads import Fill, FillInput, LeftoverInput
from oms.purchasing.supplier import RecordedSupplier


def reserve_input(order_id: str, **quantities: int) -> ReserveInput:
    lines = [
        OrderLine(sku=s, quantity=q, unit_price=Decimal("1.00")) for s, q in quantities.items()
    ]
    return ReserveInput(order_id=order_id, lines=lines)


def level(ledger: Ledger, sku: str) -> tuple[int, int]:
    found = ledger.get_stock(sku)
    assert found is not None
    return found.available, found.reserved


def reservation(ledger: Ledger, order_id: str) -> Reservation:
    found = ledger.get(Reservation, order_id)
    assert found is not None
    return found


@pytest.fixture
def purchasing(ledger: Ledger) -> PurchasingActivities:
    return PurchasingActivities(ledger=ledger, supplier=RecordedSupplier(ledger))


def fill(purchasing: PurchasingActivities, sku: str, **owed: int) -> tuple[list[str], list[str]]:
    request = FillInput(
        purchase_order_id=f"po-ACME-{sku}-1",
        sku=sku,
        fills=[Fill(order_id=o, quantity=q) for o, q in owed.items()],
    )
    result = ActivityEnvironment().run(purchasing.fill_backorders, request)
    return result.filled, result.gone


def test_a_short_sku_with_a_supplier_reserves_what_exists_and_owes_the_rest(
    inventory: InventoryActivities, ledger: Ledger, sku: str, order_id: str
) -> None:
    ledger.set_stock(sku, 1, supplier="ACME")

    result = ActivityEnvironment().run(
        inventory.reserve_inventory, reserve_input(order_id, **{sku: 3})
    )

    assert result.backorder == [BackorderLine(sku=sku, supplier="ACME", quantity=2)]
    assert level(ledger, sku) == (0, 1)
    record = reservation(ledger, order_id)
    assert (record.lines, record.owed) == ({sku: 1}, {sku: 2})
    # A retried attempt answers as the first did and takes nothing more.
    again = ActivityEnvironment().run(
        inventory.reserve_inventory, reserve_input(order_id, **{sku: 3})
    )
    assert again.already_reserved
    assert again.backorder == result.backorder
    assert level(ledger, sku) == (0, 1)


def test_a_short_sku_without_a_supplier_is_out_of_stock_and_nothing_is_taken(
    inventory: InventoryActivities, ledger: Ledger, sku: str, order_id: str
) -> None:
    other = f"SKU-{uuid.uuid4().hex[:8]}"
    ledger.set_stock(sku, 5, supplier="ACME")
    ledger.set_stock(other, 1)

    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(
            inventory.reserve_inventory, reserve_input(order_id, **{sku: 1, other: 2})
        )

    assert raised.value.type == ErrorType.OUT_OF_STOCK
    assert level(ledger, sku) == (5, 0)
    assert level(ledger, other) == (1, 0)
    assert ledger.get(Reservation, order_id) is None


def test_removing_the_supplier_makes_the_sku_out_of_stock_again(
    inventory: InventoryActivities, ledger: Ledger, sku: str, order_id: str
) -> None:
    ledger.set_stock(sku, 0, supplier="ACME")
    ledger.set_stock(sku, 0, no_supplier=True)

    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(inventory.reserve_inventory, reserve_input(order_id, **{sku: 1}))

    assert raised.value.type == ErrorType.OUT_OF_STOCK


def test_the_exact_take_loses_to_a_concurrent_change(ledger: Ledger, sku: str) -> None:
    ledger.set_stock(sku, 1, supplier="ACME")

    with pytest.raises(TransactionConflictError):
        ledger.transact([ledger.tx_stock_exact(sku, take=2, seen=2)])  # saw 2, 1 is left

    ledger.transact([ledger.tx_stock_exact(sku, take=1, seen=1)])
    assert level(ledger, sku) == (0, 1)


def test_owed_units_fill_the_reservation_s_nested_line_once(
    inventory: InventoryActivities,
    purchasing: PurchasingActivities,
    ledger: Ledger,
    sku: str,
    order_id: str,
) -> None:
    # Given an order with a fully owed line (no key for it in `lines` yet) and a covered one
    other = f"SKU-{uuid.uuid4().hex[:8]}"
    ledger.set_stock(sku, 0, supplier="ACME")
    ledger.set_stock(other, 4)
    ActivityEnvironment().run(
        inventory.reserve_inventory, reserve_input(order_id, **{sku: 2, other: 1})
    )
    assert reservation(ledger, order_id).lines == {other: 1}

    # When the delivered units fill it, and the fill is retried
    assert fill(purchasing, sku, **{order_id: 2}) == ([order_id], [])
    assert fill(purchasing, sku, **{order_id: 2}) == ([order_id], [])

    # Then they are reserved once, into the order's lines
    record = reservation(ledger, order_id)
    assert (record.lines, record.owed) == ({other: 1, sku: 2}, {})
    assert level(ledger, sku) == (0, 2)
    # and a release gives back everything the order holds
    ActivityEnvironment().run(inventory.release_inventory, OrderRef(order_id=order_id))
    assert level(ledger, sku) == (2, 0)
    assert level(ledger, other) == (4, 0)


def test_a_fill_after_the_order_was_released_is_gone_and_takes_nothing(
    inventory: InventoryActivities,
    purchasing: PurchasingActivities,
    ledger: Ledger,
    sku: str,
    order_id: str,
) -> None:
    ledger.set_stock(sku, 1, supplier="ACME")
    ActivityEnvironment().run(inventory.reserve_inventory, reserve_input(order_id, **{sku: 3}))
    ActivityEnvironment().run(inventory.release_inventory, OrderRef(order_id=order_id))

    assert fill(purchasing, sku, **{order_id: 2}) == ([], [order_id])

    assert level(ledger, sku) == (1, 0)
    assert reservation(ledger, order_id).status == RecordState.RELEASED


def test_a_fill_of_another_quantity_than_owed_is_refused(
    inventory: InventoryActivities,
    purchasing: PurchasingActivities,
    ledger: Ledger,
    sku: str,
    order_id: str,
) -> None:
    ledger.set_stock(sku, 0, supplier="ACME")
    ActivityEnvironment().run(inventory.reserve_inventory, reserve_input(order_id, **{sku: 3}))

    assert fill(purchasing, sku, **{order_id: 2}) == ([], [order_id])
    assert level(ledger, sku) == (0, 0)


def test_leftover_units_go_to_stock_once(
    purchasing: PurchasingActivities, ledger: Ledger, sku: str
) -> None:
    ledger.set_stock(sku, 1, supplier="ACME")
    request = LeftoverInput(purchase_order_id=f"po-ACME-{sku}-1", sku=sku, quantity=3)

    first = ActivityEnvironment().run(purchasing.release_leftover, request)
    again = ActivityEnvironment().run(purchasing.release_leftover, request)

    assert (first.added, again.added) == (3, 0)
    assert level(ledger, sku) == (4, 0)
