"""Backorders, order side (§6f): a partial reservation for lines whose SKU has a supplier, and
the activities that join and leave purchase orders through an injected `Suppliers` (the
purchasing capability implements it; the order package does not depend on it).
"""

from __future__ import annotations

from typing import Any, Protocol

from temporalio import activity

from oms.orders.backorder_wire import BackorderLine, BackorderPlaced, BackorderRef, BackorderRequest
from oms.orders.ledger import Ledger, TransactionConflictError
from oms.orders.payloads import CompensationResult, ReserveInput, ReserveResult
from oms.orders.records import RecordState, Reservation, StockLevel

RACE_PASSES = 5  # each pass either commits or saw stock another order changed meanwhile


class ReservationGoneError(Exception):
    """The order's reservation was compensated before this attempt: it must not take stock."""


def owed_lines(ledger: Ledger, reservation: Reservation) -> list[BackorderLine]:
    """What an existing reservation still owes (a retried attempt answers as the first did)."""
    return [
        BackorderLine(sku=sku, supplier=_supplier(ledger.get_stock(sku)), quantity=q)
        for sku, q in reservation.owed.items()
    ]


def reserve_with_backorder(ledger: Ledger, request: ReserveInput) -> ReserveResult | None:
    """Reserve what exists of every line and owe the rest, when every short SKU has a
    supplier; None when one has none (the order is out of stock). One transaction: the short
    lines take exactly the units seen available (or the pass is retried), the others all.
    Everything comes from the `main` warehouse: a backordered order ships as one parcel."""
    for _ in range(RACE_PASSES):
        levels = {line.sku: ledger.get_stock(line.sku) for line in request.lines}
        takes: list[Any] = []
        lines: dict[str, int] = {}
        owed: dict[str, int] = {}
        backorder: list[BackorderLine] = []
        for line in request.lines:
            level = levels[line.sku]
            available = level.available if level else 0
            if available >= line.quantity:
                takes.append(
                    ledger.tx_stock(
                        line.sku, available=-line.quantity, reserved=line.quantity, guard=True
                    )
                )
                lines[line.sku] = line.quantity
                continue
            if level is None or level.supplier is None:
                return None
            take = max(available, 0)
            takes.append(ledger.tx_stock_exact(line.sku, take=take, seen=available))
            if take:
                lines[line.sku] = take
            owed[line.sku] = line.quantity - take
            backorder.append(
                BackorderLine(sku=line.sku, supplier=level.supplier, quantity=owed[line.sku])
            )
        record = Reservation(
            order_id=request.order_id, status=RecordState.ACTIVE, lines=lines, owed=owed
        )
        try:
            ledger.transact([*takes, ledger.tx_put_new(record)])
        except TransactionConflictError as conflict:
            if len(takes) in conflict.failed:
                existing = ledger.get(Reservation, request.order_id)
                if existing is not None and existing.status == RecordState.ACTIVE:
                    return ReserveResult(
                        already_reserved=True, backorder=owed_lines(ledger, existing)
                    )
                raise ReservationGoneError(request.order_id) from None
            continue
        activity.logger.info(
            "reserved stock for order %s, %d lines backordered", request.order_id, len(backorder)
        )
        return ReserveResult(backorder=backorder)
    raise RuntimeError(f"stock of order {request.order_id} kept changing; retrying")


def _supplier(level: StockLevel | None) -> str:
    return (level.supplier if level else None) or ""


class Suppliers(Protocol):
    """Joins and leaves purchase orders (`oms.purchasing.joiner.PurchaseOrderJoin`)."""

    def join(self, request: BackorderRequest) -> BackorderPlaced: ...

    def withdraw(self, request: BackorderRef) -> int: ...


class BackorderActivities:
    def __init__(self, *, suppliers: Suppliers) -> None:
        self._suppliers = suppliers

    @activity.defn
    def request_backorder(self, request: BackorderRequest) -> BackorderPlaced:
        return self._suppliers.join(request)

    @activity.defn
    def withdraw_backorder(self, request: BackorderRef) -> CompensationResult:
        left = self._suppliers.withdraw(request)
        return CompensationResult(
            undone=left > 0, detail=f"left {left} purchase orders" if left else "nothing to leave"
        )
