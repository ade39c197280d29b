"""Payment activities: authorize after reservation, capture before shipping, void or refund.

Every call carries an idempotency key derived from the order (and the return, for refunds), as
a real provider's `Idempotency-Key`; a decline is a business answer (`PAYMENT_DECLINED`), never
retried. The provider sits behind `PaymentGateway`; `SimulatedGateway` is the local one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from oms.orders.contract import ErrorType
from oms.orders.gateway import (
    AlreadyCompensatedError,
    PaymentDeclinedError,
    PaymentGateway,
    idempotency_key,
)
from oms.orders.payloads import (
    AuthorizeInput,
    AuthorizeResult,
    CaptureInput,
    CaptureResult,
    CompensationResult,
    OrderRef,
)


def _business(exc: Exception) -> ApplicationError:
    kind = (
        ErrorType.PAYMENT_DECLINED
        if isinstance(exc, PaymentDeclinedError)
        else ErrorType.ALREADY_COMPENSATED
    )
    return ApplicationError(str(exc), type=kind, non_retryable=True, category=BENIGN)


# A business answer, not a fault: logged without a traceback, not counted as a failure.
BENIGN = ApplicationErrorCategory.BENIGN
R = TypeVar("R")


def _answered(call: Callable[..., R], request: AuthorizeInput | CaptureInput, operation: str) -> R:
    """A forward payment call: the provider's "no" becomes a non-retryable business error."""
    try:
        result = call(request, idempotency_key=idempotency_key(request.order_id, operation))
    except (PaymentDeclinedError, AlreadyCompensatedError) as exc:
        raise _business(exc) from None
    activity.logger.info("%s: order %s", operation, request.order_id)
    return result


class PaymentActivities:
    def __init__(self, *, gateway: PaymentGateway) -> None:
        self._gateway = gateway

    @activity.defn
    def authorize_payment(self, request: AuthorizeInput) -> AuthorizeResult:
        return _answered(self._gateway.authorize, request, "authorize")

    @activity.defn
    def capture_payment(self, request: CaptureInput) -> CaptureResult:
        return _answered(self._gateway.capture, request, "capture")

    @activity.defn
    def void_payment(self, request: OrderRef) -> CompensationResult:
        return self._gateway.void(
            request.order_id, idempotency_key=idempotency_key(request.order_id, "void")
        )

    @activity.defn
    def refund_payment(self, request: OrderRef) -> CompensationResult:
        """Refund whatever was captured and not yet refunded (a compensation after capture)."""
        refund = self._gateway.refund(
            request.order_id, None, idempotency_key=idempotency_key(request.order_id, "refund")
        )
        return CompensationResult(undone=refund.refunded, detail=refund.detail)
