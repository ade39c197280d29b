"""Activities of a return: hold the units, refund the accepted lines, restock them, release a
return, email.

Each is idempotent: the hold and the ledger changes by the return's record status, the refund by
its key (the return id), the emails by (order, return event) in the mailer. The return window is
checked here, on the worker's clock and with the worker's `OMS_RETURN_WINDOW_DAYS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.mail.mailer import Mailer, NotifyResult
from oms.orders.gateway import PaymentGateway
from oms.orders.ledger import Ledger
from oms.returns.book import NotReturnableError, ReturnBookRepository, ReturnClosedError
from oms.returns.contract import ReturnErrorType, ReturnEvent
from oms.returns.payloads import (
    HoldInput,
    LedgerResult,
    RefundReturnInput,
    RefundReturnResult,
    RestockInput,
    ReturnNotifyInput,
    ReturnRef,
)
from oms.returns.shares import accepted_shares


def refund_key(return_id: str) -> str:
    """The gateway's idempotency key of a return's refund (one refund per return)."""
    return f"refund-{return_id}"


SUBJECTS = {
    ReturnEvent.INSTRUCTIONS: "How to return items of order {order_id}",
    ReturnEvent.REFUNDED: "Your refund for order {order_id}",
    ReturnEvent.EXPIRED: "Your return for order {order_id} has expired",
    ReturnEvent.CANCELLED: "Your return for order {order_id} has been cancelled",
}


def render(request: ReturnNotifyInput) -> tuple[str, str, str]:
    """Subject, text and HTML of a return email."""
    subject = SUBJECTS[request.event].format(order_id=request.order_id)
    ref = request.return_id
    if request.event == ReturnEvent.INSTRUCTIONS:
        due = f" by {request.parcel_due:%Y-%m-%d}" if request.parcel_due else ""
        summary = (
            f"Your return {ref} is open. Please send the items below{due}, "
            f"with the reference {ref} on the parcel."
        )
    elif request.event == ReturnEvent.REFUNDED:
        summary = f"We received your return {ref} and refunded {request.amount} {request.currency}."
    elif request.event == ReturnEvent.EXPIRED:
        summary = f"We did not receive the parcel of return {ref} in time; the return has expired."
    else:
        summary = f"Your return {ref} has been cancelled."
    lines = [f"{line.quantity} x {line.sku} @ {line.unit_price}" for line in request.lines]
    text = "\n".join([f"Hello {request.customer_name},", "", summary, "", *lines])
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    html = f"<p>Hello {escape(request.customer_name)},</p><p>{escape(summary)}</p><ul>{items}</ul>"
    return subject, text, html


def _closed(exc: Exception) -> ApplicationError:
    return ApplicationError(str(exc), type=ReturnErrorType.RETURN_CLOSED, non_retryable=True)


def _not_returnable(why: str) -> ApplicationError:
    return ApplicationError(why, type=ReturnErrorType.NOT_RETURNABLE, non_retryable=True)


class ReturnActivities:
    def __init__(
        self,
        *,
        ledger: Ledger,
        gateway: PaymentGateway,
        mailer: Mailer,
        window_days: int = 30,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._book = ReturnBookRepository(ledger)
        self._gateway = gateway
        self._mailer = mailer
        self._window = timedelta(days=window_days)
        self._clock = clock

    @activity.defn
    def hold_return(self, request: HoldInput) -> LedgerResult:
        """Hold the units for the return, within the window; refused with a reason."""
        if self._clock() > request.shipped_at + self._window:
            raise _not_returnable(
                f"order {request.order_id} shipped on {request.shipped_at:%Y-%m-%d}: the "
                f"{self._window.days}-day return window is over"
            )
        try:
            done = self._book.hold(
                request.order_id,
                request.number,
                request.lines,
                shipped=request.shipped,
                request_id=request.request_id,
                delivered=request.delivered,
            )
        except NotReturnableError as exc:
            raise _not_returnable(str(exc)) from None
        except ReturnClosedError as exc:
            raise _closed(exc) from None
        return LedgerResult(changed=done.undone, detail=done.detail)

    @activity.defn
    def refund_return(self, request: RefundReturnInput) -> RefundReturnResult:
        """Refund the accepted lines; the result is what the provider refunded under the
        return's keys (a retry returns the first refunds' amount). A return that took its
        units from parcels refunds each parcel's share from that parcel's capture, under a key
        per parcel."""
        record = (
            None if request.number is None else self._book.get(request.order_id, request.number)
        )
        if record is None or not record.parcels or not request.lines:
            key = refund_key(request.return_id)
            refund = self._gateway.refund(request.order_id, request.amount, idempotency_key=key)
            activity.logger.info("refunded return %s: %s", request.return_id, refund.amount)
            return RefundReturnResult(amount=refund.amount)
        prices = {line.sku: line.unit_price for line in request.lines}
        accepted = {line.sku: line.quantity for line in request.lines}
        total = Decimal("0")
        for share in accepted_shares(record.parcels, accepted):
            amount = sum((q * prices[sku] for sku, q in share.lines.items()), Decimal("0"))
            if amount <= 0:
                continue
            refund = self._gateway.refund(
                request.order_id,
                amount,
                idempotency_key=f"{refund_key(request.return_id)}-{share.number}",
                parcel=share.number,
            )
            activity.logger.info(
                "refunded return %s parcel %s: %s", request.return_id, share.number, refund.amount
            )
            total += refund.amount
        return RefundReturnResult(amount=total)

    @activity.defn
    def restock_return(self, request: RestockInput) -> LedgerResult:
        try:
            done = self._book.receive(request.order_id, request.number, request.accepted)
        except ReturnClosedError as exc:
            raise _closed(exc) from None
        except NotReturnableError as exc:
            raise _not_returnable(str(exc)) from None
        return LedgerResult(changed=done.undone, detail=done.detail)

    @activity.defn
    def release_return(self, request: ReturnRef) -> LedgerResult:
        """Expired, cancelled, or the hold's compensation (a tombstone if nothing was held)."""
        try:
            done = self._book.release(request.order_id, request.number)
        except ReturnClosedError as exc:
            raise _closed(exc) from None
        return LedgerResult(changed=done.undone, detail=done.detail)

    @activity.defn
    def notify_return(self, request: ReturnNotifyInput) -> NotifyResult:
        subject, text, html = render(request)
        return self._mailer.send_once(
            request.order_id,
            f"{request.return_id}-{request.event.value}",
            to=request.email,
            subject=subject,
            text=text,
            html=html,
        )
