"""Inventory: all-or-nothing reservation of every line, idempotent release.

One transaction takes every line's units from `available` to `reserved` under the condition
that enough are available, and creates the order's reservation record. Either all of it commits
or none of it, so stock never goes negative, even with concurrent orders for the last units; a
retried attempt finds its own record and does nothing. An order no warehouse covers is out of
stock, unless every short SKU has a supplier: then it reserves what exists and owes the rest
(`oms.orders.activities.backorder`, §6f).
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from oms.orders.activities.backorder import (
    ReservationGoneError,
    owed_lines,
    reserve_with_backorder,
)
from oms.orders.contract import ErrorType
from oms.orders.ledger import RACE_PASSES, Ledger, TransactionConflictError
from oms.orders.payloads import (
    CompensationResult,
    OrderRef,
    ParcelPlan,
    ReserveInput,
    ReserveResult,
)
from oms.orders.records import ParcelLines, RecordState, Reservation
from oms.parcels.plan import MAIN, NoPlanError, PlannedParcel, plan_parcels


def compensated(what: str, order_id: str) -> ApplicationError:
    """A late attempt of a step that was already compensated: never retried, never applied."""
    return ApplicationError(
        f"{what} of order {order_id} was already compensated",
        type=ErrorType.ALREADY_COMPENSATED,
        non_retryable=True,
        category=BENIGN,
    )


def out_of_stock(short: list[str]) -> ApplicationError:
    return ApplicationError(
        f"not enough stock for {', '.join(short)}",
        {"skus": short},
        type=ErrorType.OUT_OF_STOCK,
        non_retryable=True,
        category=BENIGN,
    )


def _plans(record: Reservation) -> list[ParcelPlan]:
    return [
        ParcelPlan(number=p.number, warehouse=p.warehouse, lines=p.lines) for p in record.parcels
    ]


# A business answer, not a fault: logged without a traceback, not counted as a failure.
BENIGN = ApplicationErrorCategory.BENIGN


class InventoryActivities:
    def __init__(self, *, ledger: Ledger) -> None:
        self._ledger = ledger

    @activity.defn
    def reserve_inventory(self, request: ReserveInput) -> ReserveResult:
        """All from `main` when it holds every line (one parcel, as before warehouses); else one
        parcel per warehouse of the fewest that hold the order (`oms.parcels.plan`)."""
        lines = {line.sku: line.quantity for line in request.lines}
        plan = [PlannedParcel(1, MAIN, lines)]
        short: list[str] = []
        for _ in range(RACE_PASSES):
            answer = self._reserve(request.order_id, plan)
            if isinstance(answer, ReserveResult):
                return answer
            short = answer
            try:  # stock moved, or `main` lacks some: plan from what each warehouse has now
                plan = plan_parcels(lines, self._ledger.available_by_warehouse(list(lines)))
            except NoPlanError as none:
                return self._backorder(request, none.short)
        raise out_of_stock(short)

    def _backorder(self, request: ReserveInput, short: list[str]) -> ReserveResult:
        """No warehouse covers the order: reserve what exists and owe the rest to suppliers
        (§6f) when every short SKU has one; otherwise out of stock, as before backorders."""
        try:
            answer = reserve_with_backorder(self._ledger, request)
        except ReservationGoneError:
            raise compensated("reservation", request.order_id) from None
        if answer is None:
            raise out_of_stock(short)
        return answer

    def _reserve(self, order_id: str, plan: list[PlannedParcel]) -> ReserveResult | list[str]:
        """One transaction for the plan's units and the reservation record; the SKUs that were
        short when it failed."""
        ledger = self._ledger
        split = plan != [PlannedParcel(1, MAIN, plan[0].lines)]
        skus = list(dict.fromkeys(sku for p in plan for sku in p.lines))
        record = Reservation(
            order_id=order_id,
            status=RecordState.ACTIVE,
            lines={sku: sum(p.lines.get(sku, 0) for p in plan) for sku in skus},
            parcels=[
                ParcelLines(number=p.number, warehouse=p.warehouse, lines=p.lines) for p in plan
            ]
            if split
            else [],
        )
        taken = [sku for p in plan for sku in p.lines]
        takes = [
            ledger.tx_stock(sku, available=-q, reserved=q, guard=True, warehouse=p.warehouse)
            for p in plan
            for sku, q in p.lines.items()
        ]
        try:
            ledger.transact([*takes, ledger.tx_put_new(record)])
        except TransactionConflictError as conflict:
            if len(takes) in conflict.failed:  # the record exists: an earlier attempt's
                existing = ledger.get(Reservation, order_id)
                if existing is not None and existing.status == RecordState.ACTIVE:
                    return ReserveResult(
                        already_reserved=True,
                        parcels=_plans(existing),
                        backorder=owed_lines(ledger, existing),
                    )
                raise compensated("reservation", order_id) from None
            return [taken[i] for i in conflict.failed]
        activity.logger.info("reserved stock for order %s in %d parcel(s)", order_id, len(plan))
        return ReserveResult(parcels=_plans(record))

    @activity.defn
    def release_inventory(self, request: OrderRef) -> CompensationResult:
        """Return the reserved units, once; with no reservation, leave a tombstone so an attempt
        still in flight cannot take stock after the order was cancelled."""
        ledger = self._ledger
        undo = ledger.undo(
            Reservation,
            request.order_id,
            active=RecordState.ACTIVE,
            undone=RecordState.RELEASED,
            effects=lambda r: [
                ledger.tx_stock(sku, available=q, reserved=-q, warehouse=w)
                for sku, w, q in r.takes()
            ],
        )
        return CompensationResult(undone=undo.undone, detail=undo.detail)
