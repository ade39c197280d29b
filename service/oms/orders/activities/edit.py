"""Activities of an order edit before capture (§6g): reserve or release the difference of the
lines in one transaction, and hold the new total (the old hold voided).

Each applies once per edit revision: the reservation and the payment record carry the revision
they reflect, written in the same conditional write as the change, so a retry finds it done.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from oms.orders.contract import ErrorType
from oms.orders.gateway import AlreadyCompensatedError, PaymentDeclinedError, PaymentGateway
from oms.orders.ledger import Ledger, TransactionConflictError
from oms.orders.payloads import AdjustInput, AdjustResult, AuthorizeResult, ReauthorizeInput
from oms.orders.records import RecordState, Reservation

BENIGN = ApplicationErrorCategory.BENIGN


def refused(message: str, kind: ErrorType = ErrorType.EDIT_REFUSED) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True, category=BENIGN)


class EditActivities:
    def __init__(self, *, ledger: Ledger, gateway: PaymentGateway) -> None:
        self._ledger = ledger
        self._gateway = gateway

    @activity.defn
    def adjust_reservation(self, request: AdjustInput) -> AdjustResult:
        """All or nothing: more units of a line are taken from `available` (only if there are
        enough), fewer are put back, and the reservation's lines become `after`."""
        ledger = self._ledger
        current = ledger.get(Reservation, request.order_id)
        if current is not None and current.split:
            # Its units sit in several warehouses: a new plan would be a new split (not built).
            raise refused("the order ships from several warehouses: it cannot be edited")
        moves = []
        short_candidates = []
        for sku in sorted(set(request.before) | set(request.after)):
            more = request.after.get(sku, 0) - request.before.get(sku, 0)
            if more:
                moves.append(ledger.tx_stock(sku, available=-more, reserved=more, guard=more > 0))
                short_candidates.append(sku)
        lines = {sku: q for sku, q in request.after.items() if q > 0}
        book = ledger.tx_transition(
            request.order_id,
            Reservation.KIND,
            RecordState.ACTIVE,
            RecordState.ACTIVE,
            {"lines": lines, "revision": request.revision},
            unchanged={"revision": request.revision - 1},
        )
        try:
            ledger.transact([*moves, book])
        except TransactionConflictError as conflict:
            if len(moves) in conflict.failed:  # the reservation moved on, or was released
                existing = ledger.get(Reservation, request.order_id)
                if existing is not None and existing.revision >= request.revision:
                    return AdjustResult(already_applied=True)
                raise refused("the reservation was released: the order is closing") from None
            short = [short_candidates[i] for i in conflict.failed]
            raise refused(
                f"not enough stock for {', '.join(short)}", ErrorType.OUT_OF_STOCK
            ) from None
        activity.logger.info(
            "edit %d of order %s: stock adjusted", request.revision, request.order_id
        )
        return AdjustResult()

    @activity.defn
    def reauthorize_payment(self, request: ReauthorizeInput) -> AuthorizeResult:
        try:
            return self._gateway.reauthorize(
                request, idempotency_key=f"reauthorize-{request.order_id}-{request.revision}"
            )
        except PaymentDeclinedError as exc:
            raise refused(
                f"the new total was declined ({exc})", ErrorType.PAYMENT_DECLINED
            ) from None
        except AlreadyCompensatedError as exc:
            raise refused(str(exc)) from None
