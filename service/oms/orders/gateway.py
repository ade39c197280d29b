"""The payment provider interface and a simulated provider that keeps its books in the ledger.

Tokens of the simulator: `tok_declined` is declined at authorization, `tok_flaky` fails
transiently on its first two attempts, `tok_capture_declined` authorizes but is declined at
capture, `tok_renewal_declined` authorizes but a renewal after expiry is declined; Stripe's test
tokens mean what Stripe documents (`tok_chargeDeclined*` declined, `tok_riskLevelHighest` held
for review); anything else succeeds. Every result carries its amount in minor units. Replace
`SimulatedGateway` with a real provider's client behind the same protocol.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final, Protocol

from temporalio import activity

from oms.orders import money
from oms.orders.ledger import Ledger, TransactionConflictError
from oms.orders.parcel_capture import (
    capture_parcels,
    parcel_capture,
    parcel_refundable,
    tx_parcel_refund,
)
from oms.orders.payloads import (
    AuthorizeInput,
    AuthorizeResult,
    CaptureInput,
    CaptureResult,
    CompensationResult,
    ReauthorizeInput,
    RefundResult,
)
from oms.orders.payment_book import MoneyRuleError, PaymentBook
from oms.orders.records import Payment, PaymentAttempts, RecordState, Refund

DECLINED_TOKEN: Final = "tok_declined"  # noqa: S105 - the simulator's test token
FLAKY_TOKEN: Final = "tok_flaky"  # noqa: S105 - the simulator's test token
CAPTURE_DECLINED_TOKEN: Final = "tok_capture_declined"  # noqa: S105 - the simulator's test token
RENEWAL_DECLINED_TOKEN: Final = "tok_renewal_declined"  # noqa: S105 - the simulator's test token
# Stripe's test tokens (docs.stripe.com/testing#declined-payments, #fraud-prevention).
STRIPE_DECLINED: Final = frozenset(
    {
        "tok_chargeDeclined",
        "tok_chargeDeclinedInsufficientFunds",
        "tok_chargeDeclinedFraudulent",
        "tok_chargeDeclinedIncorrectCvc",
        "tok_chargeDeclinedExpiredCard",
        "tok_chargeDeclinedProcessingError",
        "tok_chargeDeclinedLostCard",
        "tok_chargeDeclinedStolenCard",
        "tok_chargeCustomerFail",
        "tok_visa_chargeDeclined",
    }
)
REVIEW_TOKENS: Final = frozenset({"tok_riskLevelHighest"})  # held for a manual review (§6g)
DECLINED_TOKENS: Final = STRIPE_DECLINED | {DECLINED_TOKEN}
FLAKY_FAILURES: Final = 2
DEFAULT_VALIDITY: Final = timedelta(days=7)  # a card hold's usual life


class PaymentDeclinedError(Exception):
    """The provider said no: a business outcome, never retried."""


class GatewayUnavailableError(Exception):
    """A transient provider failure: retried by Temporal."""


class AlreadyCompensatedError(Exception):
    """The order's payment was already voided or refunded; a late call must not take effect."""


def idempotency_key(order_id: str, operation: str) -> str:
    return f"{operation}-{order_id}"


def temporal_time() -> datetime:
    """The simulator's clock: the activity attempt's time on the Temporal server (so holds
    expire in time-skipping tests as they would in real time), the wall clock elsewhere."""
    if activity.in_activity():
        return activity.info().current_attempt_scheduled_time
    return datetime.now(UTC)


class PaymentGateway(Protocol):
    def authorize(self, request: AuthorizeInput, *, idempotency_key: str) -> AuthorizeResult: ...

    def capture(self, request: CaptureInput, *, idempotency_key: str) -> CaptureResult:
        """Capture the hold; one that has expired is first voided and authorized anew (a decline
        then is `PaymentDeclinedError`)."""
        ...

    def reauthorize(self, request: ReauthorizeInput, *, idempotency_key: str) -> AuthorizeResult:
        """Hold the edited total and void the old hold (before capture only); once per
        revision."""
        ...

    def void(self, order_id: str, *, idempotency_key: str) -> CompensationResult: ...

    def refund(
        self,
        order_id: str,
        amount: Decimal | None,
        *,
        idempotency_key: str,
        parcel: int | None = None,
    ) -> RefundResult:
        """Refund `amount` (None: all that is left), never more than captured minus refunded;
        with `parcel` (a split order), never more than that parcel's capture minus its refunds.
        The result carries what the provider refunded under this key."""
        ...


def book_of(payment: Payment) -> PaymentBook:
    """The payment's books in minor units (the record keeps decimals)."""
    currency = payment.currency
    return PaymentBook(
        currency=currency,
        authorized=money.to_minor(payment.amount, currency),
        captured=money.to_minor(payment.captured, currency),
        refunded=money.to_minor(payment.refunded, currency),
        voided=payment.status == RecordState.VOIDED,
        holds=payment.holds,
    )


class SimulatedGateway:
    def __init__(
        self,
        ledger: Ledger,
        *,
        validity: timedelta = DEFAULT_VALIDITY,
        clock: Callable[[], datetime] = temporal_time,
    ) -> None:
        self._ledger = ledger
        self._validity = validity  # OMS_AUTHORIZATION_VALIDITY
        self._clock = clock

    def _expiry(self) -> str:
        return (self._clock() + self._validity).isoformat()

    def authorize(self, request: AuthorizeInput, *, idempotency_key: str) -> AuthorizeResult:
        existing = self._ledger.get(Payment, request.order_id)
        if existing is not None:
            return self._authorized(existing, request.token)
        if request.token in DECLINED_TOKENS:
            raise PaymentDeclinedError("card declined")
        book = PaymentBook(currency=request.currency).authorize(
            money.to_minor(request.amount, request.currency)
        )
        if request.token == FLAKY_TOKEN:
            counter = self._ledger.update_fields(
                PaymentAttempts,
                request.order_id,
                set_values={"status": RecordState.RECEIVED},
                add={"attempts": 1},
            )
            if counter is not None and counter.attempts <= FLAKY_FAILURES:
                raise GatewayUnavailableError("payment gateway timed out")
        payment = Payment(
            order_id=request.order_id,
            status=RecordState.AUTHORIZED,
            authorization_id=f"auth_{uuid.uuid4().hex[:20]}",
            amount=money.from_minor(book.authorized, request.currency),
            currency=request.currency,
            hold_expires_at=self._expiry(),
        )
        if self._ledger.put_new(payment):
            return self._authorized(payment, request.token)
        return self._authorized(self._ledger.get(Payment, request.order_id), request.token)

    @staticmethod
    def _authorized(payment: Payment | None, token: str) -> AuthorizeResult:
        if (
            payment is None
            or payment.authorization_id is None
            or payment.status not in (RecordState.AUTHORIZED, RecordState.CAPTURED)
        ):
            raise AlreadyCompensatedError("the payment was already voided")
        return AuthorizeResult(
            authorization_id=payment.authorization_id,
            amount_minor=book_of(payment).authorized,
            review=token in REVIEW_TOKENS,
        )

    def capture(self, request: CaptureInput, *, idempotency_key: str) -> CaptureResult:
        payment = self._ledger.get(Payment, request.order_id)
        if payment is None or payment.status not in (RecordState.AUTHORIZED, RecordState.CAPTURED):
            raise AlreadyCompensatedError("no authorization to capture")
        split = len(request.shares_minor) > 1
        if payment.status == RecordState.CAPTURED and not split:
            return self._captured(payment)
        if payment.status == RecordState.CAPTURED:  # a split order's later parcels, after a retry
            return self._parcels(request, idempotency_key)
        if request.token == CAPTURE_DECLINED_TOKEN:
            raise PaymentDeclinedError("capture declined by the issuer")
        renewed = self._expired(payment)
        if renewed:
            payment = self._renew(payment, request.token)
            if payment is None:  # voided or renewed by a concurrent attempt: decide again
                return self.capture(request, idempotency_key=idempotency_key)
        if split:
            return self._parcels(request, idempotency_key, renewed=renewed)
        book = book_of(payment).capture(book_of(payment).capturable)
        captured = self._ledger.update_fields(
            Payment,
            request.order_id,
            set_values={
                "status": RecordState.CAPTURED,
                "captured": money.from_minor(book.captured, payment.currency),
            },
            condition="#status = :expected AND authorizationId = :hold",
            condition_values={
                ":expected": RecordState.AUTHORIZED,
                ":hold": str(payment.authorization_id),
            },
        )
        if captured is None:  # voided meanwhile, or captured by a concurrent attempt
            return self.capture(request, idempotency_key=idempotency_key)
        return self._captured(captured, renewed=renewed)

    def _parcels(
        self, request: CaptureInput, idempotency_key: str, *, renewed: bool = False
    ) -> CaptureResult:
        """One capture per parcel (keys `<idempotency_key>-<n>` at a real provider)."""
        payment = capture_parcels(self._ledger, request.order_id, request.shares_minor, book_of)
        if payment is None:
            raise AlreadyCompensatedError("the authorization was voided")
        return self._captured(payment, renewed=renewed)

    @staticmethod
    def _captured(payment: Payment, *, renewed: bool = False) -> CaptureResult:
        return CaptureResult(
            amount=payment.captured, amount_minor=book_of(payment).captured, renewed=renewed
        )

    def _expired(self, payment: Payment) -> bool:
        expires = payment.hold_expires_at
        return expires is not None and self._clock() >= datetime.fromisoformat(expires)

    def _renew(self, payment: Payment, token: str) -> Payment | None:
        """A hold that lapsed: void it and authorize the same amount again (the provider keeps
        one hold per order). A decline leaves the old, lapsed hold for the void."""
        if token in DECLINED_TOKENS or token == RENEWAL_DECLINED_TOKEN:
            raise PaymentDeclinedError("the renewed authorization was declined")
        book = book_of(payment).authorize(book_of(payment).authorized)
        return self._ledger.update_fields(
            Payment,
            payment.order_id,
            set_values={
                "authorizationId": f"auth_{uuid.uuid4().hex[:20]}",
                "holdExpiresAt": self._expiry(),
                "holds": book.holds,
            },
            condition="#status = :expected AND authorizationId = :hold",
            condition_values={
                ":expected": RecordState.AUTHORIZED,
                ":hold": str(payment.authorization_id),
            },
        )

    def reauthorize(self, request: ReauthorizeInput, *, idempotency_key: str) -> AuthorizeResult:
        payment = self._ledger.get(Payment, request.order_id)
        if payment is None or payment.status not in (RecordState.AUTHORIZED, RecordState.CAPTURED):
            raise AlreadyCompensatedError("no authorization to change")
        if payment.revision >= request.revision:  # this edit's hold exists: a retry
            return self._authorized(payment, request.token)
        if payment.status == RecordState.CAPTURED:
            raise AlreadyCompensatedError("the payment was captured: the hold can no longer change")
        if request.token in DECLINED_TOKENS:
            raise PaymentDeclinedError("card declined")
        try:
            book = book_of(payment).authorize(money.to_minor(request.amount, request.currency))
        except MoneyRuleError as exc:
            raise AlreadyCompensatedError(str(exc)) from None
        updated = self._ledger.update_fields(
            Payment,
            request.order_id,
            set_values={
                "authorizationId": f"auth_{uuid.uuid4().hex[:20]}",
                "amount": money.from_minor(book.authorized, payment.currency),
                "holdExpiresAt": self._expiry(),
                "holds": book.holds,
                "revision": request.revision,
            },
            condition="#status = :expected AND authorizationId = :hold",
            condition_values={
                ":expected": RecordState.AUTHORIZED,
                ":hold": str(payment.authorization_id),
            },
        )
        if updated is None:  # changed meanwhile (captured, voided, a retry): decide again
            return self.reauthorize(request, idempotency_key=idempotency_key)
        return self._authorized(updated, request.token)

    def void(self, order_id: str, *, idempotency_key: str) -> CompensationResult:
        undo = self._ledger.undo(
            Payment, order_id, active=RecordState.AUTHORIZED, undone=RecordState.VOIDED
        )
        return CompensationResult(undone=undo.undone, detail=undo.detail)

    def refund(
        self,
        order_id: str,
        amount: Decimal | None,
        *,
        idempotency_key: str,
        parcel: int | None = None,
    ) -> RefundResult:
        record = f"{Refund.KIND}#{idempotency_key}"
        done = self._ledger.get(Refund, order_id, record)
        payment = self._ledger.get(Payment, order_id)
        if done is not None:
            return RefundResult(
                refunded=False,
                amount=done.amount,
                detail=f"already refunded {done.amount}",
                amount_minor=money.to_minor(done.amount, payment.currency) if payment else 0,
            )
        if payment is None or payment.status != RecordState.CAPTURED:
            return RefundResult(refunded=False, amount=Decimal(0), detail="nothing was captured")
        requested = None if amount is None else money.to_minor(amount, payment.currency)
        capture = parcel_capture(self._ledger, order_id, parcel)
        if capture is not None:  # a split order: capped at what this parcel's capture left
            requested = parcel_refundable(capture, requested, payment.currency)
        try:
            book, given = book_of(payment).refund(requested)
        except MoneyRuleError as exc:
            raise ValueError(str(exc)) from None  # a caller's bug: never a silent refund
        if given <= 0:
            return RefundResult(refunded=False, amount=Decimal(0), detail="nothing left to refund")
        amount = money.from_minor(given, payment.currency)
        refund = Refund(
            order_id=order_id,
            record=record,
            status=RecordState.RECEIVED,
            refund_id=f"re_{uuid.uuid4().hex[:20]}",
            amount=amount,
            parcel=parcel,
        )
        books = self._ledger.tx_transition(
            order_id,
            Payment.KIND,
            RecordState.CAPTURED,
            RecordState.CAPTURED,
            {"refunded": money.from_minor(book.refunded, payment.currency)},
            unchanged={"refunded": payment.refunded},
        )
        parcel_books = [] if capture is None else [tx_parcel_refund(self._ledger, capture, amount)]
        try:
            self._ledger.transact([self._ledger.tx_put_new(refund), books, *parcel_books])
        except TransactionConflictError:
            # A concurrent refund changed the books (or this one exists): decide again.
            return self.refund(order_id, amount, idempotency_key=idempotency_key, parcel=parcel)
        return RefundResult(
            refunded=True, amount=amount, detail=f"refunded {amount}", amount_minor=given
        )
