"""The payment provider interface and a simulated provider that keeps its books in the ledger.

Tokens of the simulator: `tok_declined` is declined at authorization,
`tok_flaky` fails transiently on its first two attempts, `tok_capture_declined` authorizes but
is declined at capture; anything else succeeds. Replace `SimulatedGateway` with a real
provider's client behind the same protocol.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Final, Protocol

from oms.orders.ledger import Ledger, TransactionConflictError
from oms.orders.payloads import (
    AuthorizeInput,
    AuthorizeResult,
    CaptureInput,
    CaptureResult,
    CompensationResult,
    RefundResult,
)
from oms.orders.records import Payment, PaymentAttempts, Refund, Status

DECLINED_TOKEN: Final = "tok_declined"  # noqa: S105 - the simulator's test token
FLAKY_TOKEN: Final = "tok_flaky"  # noqa: S105 - the simulator's test token
CAPTURE_DECLINED_TOKEN: Final = "tok_capture_declined"  # noqa: S105 - the simulator's test token
FLAKY_FAILURES: Final = 2


class PaymentDeclinedError(Exception):
    """The provider said no: a business outcome, never retried."""


class GatewayUnavailableError(Exception):
    """A transient provider failure: retried by Temporal."""


class AlreadyCompensatedError(Exception):
    """The order's payment was already voided or refunded; a late call must not take effect."""


def idempotency_key(order_id: str, operation: str) -> str:
    return f"{operation}-{order_id}"


class PaymentGateway(Protocol):
    def authorize(self, request: AuthorizeInput, *, idempotency_key: str) -> AuthorizeResult: ...

    def capture(self, request: CaptureInput, *, idempotency_key: str) -> CaptureResult: ...

    def void(self, order_id: str, *, idempotency_key: str) -> CompensationResult: ...

    def refund(
        self, order_id: str, amount: Decimal | None, *, idempotency_key: str
    ) -> RefundResult:
        """Refund `amount` (None: all that is left), never more than captured minus refunded;
        the result carries what the provider refunded under this key."""
        ...


class SimulatedGateway:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def authorize(self, request: AuthorizeInput, *, idempotency_key: str) -> AuthorizeResult:
        existing = self._ledger.get(Payment, request.order_id)
        if existing is not None:
            return self._authorized(existing)
        if request.token == DECLINED_TOKEN:
            raise PaymentDeclinedError("card declined")
        if request.token == FLAKY_TOKEN:
            counter = self._ledger.update(
                PaymentAttempts,
                request.order_id,
                set_values={"status": Status.RECEIVED},
                add={"attempts": 1},
            )
            if counter is not None and counter.attempts <= FLAKY_FAILURES:
                raise GatewayUnavailableError("payment gateway timed out")
        payment = Payment(
            order_id=request.order_id,
            status=Status.AUTHORIZED,
            authorization_id=f"auth_{uuid.uuid4().hex[:20]}",
            amount=request.amount,
            currency=request.currency,
        )
        if self._ledger.put_new(payment):
            return AuthorizeResult(authorization_id=str(payment.authorization_id))
        return self._authorized(self._ledger.get(Payment, request.order_id))

    @staticmethod
    def _authorized(payment: Payment | None) -> AuthorizeResult:
        if (
            payment is None
            or payment.authorization_id is None
            or payment.status not in (Status.AUTHORIZED, Status.CAPTURED)
        ):
            raise AlreadyCompensatedError("the payment was already voided")
        return AuthorizeResult(authorization_id=payment.authorization_id)

    def capture(self, request: CaptureInput, *, idempotency_key: str) -> CaptureResult:
        payment = self._ledger.get(Payment, request.order_id)
        if payment is None or payment.status not in (Status.AUTHORIZED, Status.CAPTURED):
            raise AlreadyCompensatedError("no authorization to capture")
        if payment.status == Status.CAPTURED:
            return CaptureResult(amount=payment.captured)
        if request.token == CAPTURE_DECLINED_TOKEN:
            raise PaymentDeclinedError("capture declined by the issuer")
        captured = self._ledger.update(
            Payment,
            request.order_id,
            set_values={"status": Status.CAPTURED, "captured": payment.amount},
            condition="#status = :expected",
            condition_values={":expected": Status.AUTHORIZED},
        )
        if captured is None:  # voided meanwhile, or captured by a concurrent attempt
            return self.capture(request, idempotency_key=idempotency_key)
        return CaptureResult(amount=captured.captured)

    def void(self, order_id: str, *, idempotency_key: str) -> CompensationResult:
        undo = self._ledger.undo(Payment, order_id, active=Status.AUTHORIZED, undone=Status.VOIDED)
        return CompensationResult(undone=undo.undone, detail=undo.detail)

    def refund(
        self, order_id: str, amount: Decimal | None, *, idempotency_key: str
    ) -> RefundResult:
        record = f"{Refund.KIND}#{idempotency_key}"
        done = self._ledger.get(Refund, order_id, record)
        if done is not None:
            return RefundResult(
                refunded=False, amount=done.amount, detail=f"already refunded {done.amount}"
            )
        payment = self._ledger.get(Payment, order_id)
        if payment is None or payment.status != Status.CAPTURED:
            return RefundResult(refunded=False, amount=Decimal(0), detail="nothing was captured")
        left = payment.captured - payment.refunded
        amount = left if amount is None else min(amount, left)
        if amount <= 0:
            return RefundResult(refunded=False, amount=Decimal(0), detail="nothing left to refund")
        refund = Refund(
            order_id=order_id,
            record=record,
            status=Status.RECEIVED,
            refund_id=f"re_{uuid.uuid4().hex[:20]}",
            amount=amount,
        )
        book = self._ledger.tx_transition(
            order_id,
            Payment.KIND,
            Status.CAPTURED,
            Status.CAPTURED,
            {"refunded": payment.refunded + amount},
            unchanged={"refunded": payment.refunded},
        )
        try:
            self._ledger.transact([self._ledger.tx_put_new(refund), book])
        except TransactionConflictError:
            # A concurrent refund changed the books (or this one exists): decide again.
            return self.refund(order_id, amount, idempotency_key=idempotency_key)
        return RefundResult(refunded=True, amount=amount, detail=f"refunded {amount}")
