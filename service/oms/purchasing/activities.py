"""A purchase order's activities: place it with the supplier, fill waiting orders' reservations
with delivered units, and add what no order took to stock. Each is idempotent: the workflow
decides, these carry it out (`oms.orders.ledger` for every write)."""

from __future__ import annotations

from temporalio import activity

from oms.orders.ledger import Ledger, TransactionConflictError
from oms.orders.records import Leftover, RecordState, Reservation
from oms.purchasing.payloads import (
    FillInput,
    FillResult,
    LeftoverInput,
    LeftoverResult,
    PlaceInput,
    PlaceResult,
)
from oms.purchasing.supplier import SupplierApi


class PurchasingActivities:
    def __init__(self, *, ledger: Ledger, supplier: SupplierApi) -> None:
        self._ledger = ledger
        self._supplier = supplier

    @activity.defn
    def place_purchase_order(self, request: PlaceInput) -> PlaceResult:
        reference = self._supplier.place(
            request.purchase_order_id, request.supplier, request.sku, request.quantity
        )
        activity.logger.info(
            "purchase order %s placed: %d units", request.purchase_order_id, request.quantity
        )
        return PlaceResult(reference=reference)

    @activity.defn
    def fill_backorders(self, request: FillInput) -> FillResult:
        """Each order in one transaction: its owed units into its reservation and `reserved`.
        An order whose reservation is no longer active, or owes nothing any more, is gone
        (cancelled meanwhile) unless an earlier attempt filled it."""
        filled: list[str] = []
        gone: list[str] = []
        for fill in request.fills:
            try:
                self._ledger.transact(
                    self._ledger.tx_fill(fill.order_id, request.sku, fill.quantity)
                )
            except TransactionConflictError:
                if self._filled_before(fill.order_id, request.sku):
                    filled.append(fill.order_id)
                else:
                    gone.append(fill.order_id)
                continue
            filled.append(fill.order_id)
        activity.logger.info(
            "purchase order %s filled %d orders", request.purchase_order_id, len(filled)
        )
        return FillResult(filled=filled, gone=gone)

    def _filled_before(self, order_id: str, sku: str) -> bool:
        reservation = self._ledger.get(Reservation, order_id)
        return (
            reservation is not None
            and reservation.status == RecordState.ACTIVE
            and sku not in reservation.owed
        )

    @activity.defn
    def release_leftover(self, request: LeftoverInput) -> LeftoverResult:
        record = Leftover(
            order_id=request.purchase_order_id,
            status=RecordState.RELEASED,
            quantity=request.quantity,
        )
        ledger = self._ledger
        try:
            ledger.transact(
                [
                    ledger.tx_put_new(record),
                    ledger.tx_stock(request.sku, available=request.quantity),
                ]
            )
        except TransactionConflictError:
            return LeftoverResult(added=0)  # an earlier attempt added them
        return LeftoverResult(added=request.quantity)
