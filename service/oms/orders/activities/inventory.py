"""Inventory: all-or-nothing reservation of every line, idempotent release.

One transaction takes every line's units from `available` to `reserved` under the condition
that enough are available, and creates the order's reservation record. Either all of it commits
or none of it, so stock never goes negative, even with concurrent orders for the last units; a
retried attempt finds its own record and does nothing.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from oms.orders.contract import ErrorType
from oms.orders.ledger import Ledger, TransactionConflictError
from oms.orders.payloads import CompensationResult, OrderRef, ReserveInput, ReserveResult
from oms.orders.records import Reservation, Status


def compensated(what: str, order_id: str) -> ApplicationError:
    """A late attempt of a step that was already compensated: never retried, never applied."""
    return ApplicationError(
        f"{what} of order {order_id} was already compensated",
        type=ErrorType.ALREADY_COMPENSATED,
        non_retryable=True,
        category=BENIGN,
    )


# A business answer, not a fault: logged without a traceback, not counted as a failure.
BENIGN = ApplicationErrorCategory.BENIGN


class InventoryActivities:
    def __init__(self, *, ledger: Ledger) -> None:
        self._ledger = ledger

    @activity.defn
    def reserve_inventory(self, request: ReserveInput) -> ReserveResult:
        ledger = self._ledger
        record = Reservation(
            order_id=request.order_id,
            status=Status.ACTIVE,
            lines={line.sku: line.quantity for line in request.lines},
        )
        takes = [
            ledger.tx_stock(line.sku, available=-line.quantity, reserved=line.quantity, guard=True)
            for line in request.lines
        ]
        try:
            ledger.transact([*takes, ledger.tx_put_new(record)])
        except TransactionConflictError as conflict:
            if len(takes) in conflict.failed:  # the record exists: an earlier attempt's
                existing = ledger.get(Reservation, request.order_id)
                if existing is not None and existing.status == Status.ACTIVE:
                    return ReserveResult(already_reserved=True)
                raise compensated("reservation", request.order_id) from None
            short = [request.lines[i].sku for i in conflict.failed]
            raise ApplicationError(
                f"not enough stock for {', '.join(short)}",
                {"skus": short},
                type=ErrorType.OUT_OF_STOCK,
                non_retryable=True,
                category=BENIGN,
            ) from None
        activity.logger.info("reserved stock for order %s", request.order_id)
        return ReserveResult()

    @activity.defn
    def release_inventory(self, request: OrderRef) -> CompensationResult:
        """Return the reserved units, once; with no reservation, leave a tombstone so an attempt
        still in flight cannot take stock after the order was cancelled."""
        ledger = self._ledger
        undo = ledger.undo(
            Reservation,
            request.order_id,
            active=Status.ACTIVE,
            undone=Status.RELEASED,
            effects=lambda r: [
                ledger.tx_stock(sku, available=q, reserved=-q) for sku, q in r.lines.items()
            ],
        )
        return CompensationResult(undone=undo.undone, detail=undo.detail)
