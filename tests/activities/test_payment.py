"""Payment against moto: authorize after reservation, capture before shipping, void or refund.

Every operation is idempotent; a decline is a non-retryable business answer; a compensation
leaves the books so that a late attempt of the step it undid can never take effect.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from oms.orders.activities.payment import PaymentActivities
from oms.orders.contract import ErrorType
from oms.orders.gateway import GatewayUnavailableError, SimulatedGateway
from oms.orders.ledger import Ledger
from oms.orders.payloads import AuthorizeInput, CaptureInput, OrderRef
from oms.orders.records import Payment, RecordState

AMOUNT = Decimal("45.00")


def authorize(order_id: str, token: str = "tok_visa") -> AuthorizeInput:
    return AuthorizeInput(
        order_id=order_id, amount=AMOUNT, currency="EUR", method="card", token=token
    )


def capture(order_id: str, token: str = "tok_visa") -> CaptureInput:
    return CaptureInput(order_id=order_id, token=token)


def business_error(activity: object, argument: object) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(activity, argument)  # type: ignore[arg-type]
    assert raised.value.non_retryable
    return raised.value


def payment_record(ledger: Ledger, order_id: str) -> Payment:
    record = ledger.get(Payment, order_id)
    assert record is not None
    return record


@pytest.fixture
def captured(payment: PaymentActivities, order_id: str) -> str:
    ActivityEnvironment().run(payment.authorize_payment, authorize(order_id))
    ActivityEnvironment().run(payment.capture_payment, capture(order_id))
    return order_id


# --- authorize ------------------------------------------------------------------------------


def test_a_retried_authorization_returns_the_first_hold(
    payment: PaymentActivities, ledger: Ledger, order_id: str
) -> None:
    first = ActivityEnvironment().run(payment.authorize_payment, authorize(order_id))
    again = ActivityEnvironment().run(payment.authorize_payment, authorize(order_id))
    assert first == again
    assert first.authorization_id.startswith("auth_")
    held = payment_record(ledger, order_id)
    assert (held.status, held.amount, held.captured) == (RecordState.AUTHORIZED, AMOUNT, 0)


def test_declined_at_authorization_is_a_business_error_with_nothing_to_void(
    payment: PaymentActivities, ledger: Ledger, order_id: str
) -> None:
    error = business_error(payment.authorize_payment, authorize(order_id, "tok_declined"))
    assert error.type == ErrorType.PAYMENT_DECLINED
    voided = ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=order_id))
    assert not voided.undone  # nothing was held


def test_flaky_token_fails_twice_transiently_then_authorizes(
    payment: PaymentActivities, order_id: str
) -> None:
    for _ in range(2):
        with pytest.raises(GatewayUnavailableError):  # retryable: not an ApplicationError
            ActivityEnvironment().run(payment.authorize_payment, authorize(order_id, "tok_flaky"))
    result = ActivityEnvironment().run(payment.authorize_payment, authorize(order_id, "tok_flaky"))
    assert result.authorization_id.startswith("auth_")


def test_a_late_authorization_after_a_void_with_nothing_held_is_rejected(
    payment: PaymentActivities, ledger: Ledger, order_id: str
) -> None:
    """Cancelled while authorization was in flight: the void leaves a tombstone, so the attempt
    that arrives afterwards cannot put a hold on the card."""
    voided = ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=order_id))
    assert not voided.undone
    error = business_error(payment.authorize_payment, authorize(order_id))
    assert error.type == ErrorType.ALREADY_COMPENSATED
    assert payment_record(ledger, order_id).authorization_id is None


def test_a_late_authorization_after_the_hold_was_voided_is_rejected(
    payment: PaymentActivities, ledger: Ledger, order_id: str
) -> None:
    ActivityEnvironment().run(payment.authorize_payment, authorize(order_id))
    assert ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=order_id)).undone
    error = business_error(payment.authorize_payment, authorize(order_id))
    assert error.type == ErrorType.ALREADY_COMPENSATED
    assert payment_record(ledger, order_id).status == RecordState.VOIDED


# --- capture --------------------------------------------------------------------------------


def test_a_retried_capture_captures_once(
    payment: PaymentActivities, ledger: Ledger, order_id: str
) -> None:
    ActivityEnvironment().run(payment.authorize_payment, authorize(order_id))
    first = ActivityEnvironment().run(payment.capture_payment, capture(order_id))
    again = ActivityEnvironment().run(payment.capture_payment, capture(order_id))
    assert first == again
    assert first.amount == AMOUNT
    books = payment_record(ledger, order_id)
    assert (books.status, books.captured, books.refunded) == (RecordState.CAPTURED, AMOUNT, 0)


def test_capture_declined_is_a_business_error_and_the_hold_can_be_voided(
    payment: PaymentActivities, ledger: Ledger, order_id: str
) -> None:
    token = "tok_capture_declined"
    ActivityEnvironment().run(payment.authorize_payment, authorize(order_id, token))
    error = business_error(payment.capture_payment, capture(order_id, token))
    assert error.type == ErrorType.PAYMENT_DECLINED
    assert payment_record(ledger, order_id).captured == 0  # no money moved
    voided = ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=order_id))
    assert voided.undone
    assert payment_record(ledger, order_id).status == RecordState.VOIDED


def test_capture_without_an_authorization_or_after_a_void_is_rejected(
    payment: PaymentActivities, ledger: Ledger, order_id: str
) -> None:
    assert business_error(payment.capture_payment, capture(order_id)).type == (
        ErrorType.ALREADY_COMPENSATED
    )
    other = f"{order_id}-v"
    ActivityEnvironment().run(payment.authorize_payment, authorize(other))
    ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=other))
    error = business_error(payment.capture_payment, capture(other))
    assert error.type == ErrorType.ALREADY_COMPENSATED
    assert payment_record(ledger, other).captured == 0


# --- void -----------------------------------------------------------------------------------


def test_void_is_idempotent(payment: PaymentActivities, ledger: Ledger, order_id: str) -> None:
    ActivityEnvironment().run(payment.authorize_payment, authorize(order_id))
    first = ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=order_id))
    again = ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=order_id))
    assert (first.undone, again.undone) == (True, False)
    assert again.detail == "already voided"


def test_void_after_capture_has_nothing_to_void(
    payment: PaymentActivities, ledger: Ledger, captured: str
) -> None:
    result = ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=captured))
    assert not result.undone
    assert result.detail == "already captured"
    books = payment_record(ledger, captured)
    assert (books.status, books.captured) == (RecordState.CAPTURED, AMOUNT)  # the money stays moved


# --- refund ---------------------------------------------------------------------------------


def test_refund_before_capture_moves_no_money(payment: PaymentActivities, order_id: str) -> None:
    ActivityEnvironment().run(payment.authorize_payment, authorize(order_id))
    result = ActivityEnvironment().run(payment.refund_payment, OrderRef(order_id=order_id))
    assert not result.undone
    assert result.detail == "nothing was captured"


def test_refund_is_idempotent(payment: PaymentActivities, ledger: Ledger, captured: str) -> None:
    first = ActivityEnvironment().run(payment.refund_payment, OrderRef(order_id=captured))
    again = ActivityEnvironment().run(payment.refund_payment, OrderRef(order_id=captured))
    assert (first.undone, again.undone) == (True, False)
    assert first.detail == f"refunded {AMOUNT}"
    assert payment_record(ledger, captured).refunded == AMOUNT


def test_partial_refunds_never_exceed_captured_minus_refunded(
    gateway: SimulatedGateway, ledger: Ledger, captured: str
) -> None:
    first = gateway.refund(captured, Decimal("20.00"), idempotency_key="return-1")
    repeated = gateway.refund(captured, Decimal("20.00"), idempotency_key="return-1")
    assert (first.refunded, repeated.refunded) == (True, False)
    # The result carries the amount refunded under the key, a repeat included.
    assert (first.amount, repeated.amount) == (Decimal("20.00"), Decimal("20.00"))
    assert payment_record(ledger, captured).refunded == Decimal("20.00")

    clipped = gateway.refund(captured, Decimal("30.00"), idempotency_key="return-2")
    assert clipped.amount == Decimal("25.00")  # only what was left
    nothing = gateway.refund(captured, Decimal("1.00"), idempotency_key="return-3")
    assert (nothing.refunded, nothing.amount) == (False, Decimal(0))
    everything = gateway.refund(captured, None, idempotency_key="return-4")
    assert not everything.refunded
    assert payment_record(ledger, captured).refunded == AMOUNT


def test_concurrent_partial_refunds_never_exceed_the_capture(
    gateway: SimulatedGateway, ledger: Ledger, captured: str
) -> None:
    def refund(index: int) -> bool:
        result = gateway.refund(captured, Decimal("10.00"), idempotency_key=f"race-{index}")
        return result.refunded

    with ThreadPoolExecutor(max_workers=8) as pool:
        undone = list(pool.map(refund, range(8)))

    books = payment_record(ledger, captured)
    assert books.refunded == AMOUNT  # 10 + 10 + 10 + 10 + 5, then nothing left
    assert undone.count(True) == 5
