"""The gateway's money rules against moto (§4, §6g): amounts in minor units in every result,
Stripe's test tokens, and a hold that expired renewed (the old one voided) before capture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from oms.orders.activities.payment import PaymentActivities
from oms.orders.contract import ErrorType
from oms.orders.gateway import SimulatedGateway
from oms.orders.ledger import Ledger
from oms.orders.payloads import AuthorizeInput, CaptureInput, OrderRef
from oms.orders.records import Payment, RecordState

VALIDITY = timedelta(days=7)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def payment(ledger: Ledger, clock: Clock) -> PaymentActivities:
    return PaymentActivities(gateway=SimulatedGateway(ledger, validity=VALIDITY, clock=clock))


def run(activity: object, argument: object) -> object:
    return ActivityEnvironment().run(activity, argument)  # type: ignore[arg-type]


def hold(order_id: str, amount: str, currency: str, token: str = "tok_visa") -> AuthorizeInput:
    return AuthorizeInput(
        order_id=order_id, amount=Decimal(amount), currency=currency, method="card", token=token
    )


def record(ledger: Ledger, order_id: str) -> Payment:
    found = ledger.get(Payment, order_id)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("1000", "JPY", 1000), ("12.345", "KWD", 12345), ("45.00", "EUR", 4500)],
)
def test_authorize_capture_and_refund_carry_their_amounts_in_minor_units(
    payment: PaymentActivities, order_id: str, amount: str, currency: str, minor: int
) -> None:
    authorized = payment.authorize_payment
    result = ActivityEnvironment().run(authorized, hold(order_id, amount, currency))
    assert result.amount_minor == minor
    captured = ActivityEnvironment().run(
        payment.capture_payment, CaptureInput(order_id=order_id, token="tok_visa")
    )
    assert (captured.amount_minor, captured.amount) == (minor, Decimal(amount))
    refunded = ActivityEnvironment().run(payment.refund_payment, OrderRef(order_id=order_id))
    assert refunded.undone


def test_a_refund_is_capped_at_what_is_left_in_minor_units(
    gateway: SimulatedGateway, order_id: str
) -> None:
    gateway.authorize(hold(order_id, "12.345", "KWD"), idempotency_key="a")
    gateway.capture(CaptureInput(order_id=order_id, token="tok_visa"), idempotency_key="c")
    first = gateway.refund(order_id, Decimal("10.001"), idempotency_key="r1")
    rest = gateway.refund(order_id, Decimal("5"), idempotency_key="r2")
    assert (first.amount_minor, rest.amount_minor) == (10001, 2344)
    assert first.amount + rest.amount == Decimal("12.345")
    assert not gateway.refund(order_id, None, idempotency_key="r3").refunded


@pytest.mark.parametrize(
    "token", ["tok_chargeDeclined", "tok_chargeDeclinedInsufficientFunds", "tok_declined"]
)
def test_stripe_declined_tokens_are_declined(
    payment: PaymentActivities, order_id: str, token: str
) -> None:
    with pytest.raises(ApplicationError) as raised:
        run(payment.authorize_payment, hold(order_id, "45.00", "EUR", token))
    assert raised.value.type == ErrorType.PAYMENT_DECLINED


def test_the_highest_risk_token_is_held_for_review(
    payment: PaymentActivities, order_id: str
) -> None:
    risky = ActivityEnvironment().run(
        payment.authorize_payment, hold(order_id, "45.00", "EUR", "tok_riskLevelHighest")
    )
    assert risky.review
    ordinary = ActivityEnvironment().run(
        payment.authorize_payment, hold(f"{order_id}-2", "45.00", "EUR", "tok_visa")
    )
    assert not ordinary.review


def test_a_capture_after_expiry_renews_the_hold_first(
    payment: PaymentActivities, ledger: Ledger, clock: Clock, order_id: str
) -> None:
    first = ActivityEnvironment().run(payment.authorize_payment, hold(order_id, "45.00", "EUR"))
    clock.now += VALIDITY  # the hold lapses
    captured = ActivityEnvironment().run(
        payment.capture_payment, CaptureInput(order_id=order_id, token="tok_visa")
    )
    books = record(ledger, order_id)
    assert captured.renewed
    assert captured.amount_minor == 4500
    assert books.holds == 2
    assert books.authorization_id != first.authorization_id
    assert (books.status, books.captured) == (RecordState.CAPTURED, Decimal("45.00"))
    again = ActivityEnvironment().run(
        payment.capture_payment, CaptureInput(order_id=order_id, token="tok_visa")
    )
    assert again.amount_minor == 4500
    assert record(ledger, order_id).holds == 2


def test_a_capture_before_expiry_does_not_renew(
    payment: PaymentActivities, ledger: Ledger, clock: Clock, order_id: str
) -> None:
    ActivityEnvironment().run(payment.authorize_payment, hold(order_id, "45.00", "EUR"))
    clock.now += VALIDITY - timedelta(seconds=1)
    captured = ActivityEnvironment().run(
        payment.capture_payment, CaptureInput(order_id=order_id, token="tok_visa")
    )
    assert not captured.renewed
    assert record(ledger, order_id).holds == 1


def test_a_declined_renewal_is_a_decline_and_the_old_hold_is_voided_by_compensation(
    payment: PaymentActivities, ledger: Ledger, clock: Clock, order_id: str
) -> None:
    token = "tok_renewal_declined"
    run(payment.authorize_payment, hold(order_id, "45.00", "EUR", token))
    clock.now += VALIDITY
    with pytest.raises(ApplicationError) as raised:
        run(payment.capture_payment, CaptureInput(order_id=order_id, token=token))
    assert raised.value.type == ErrorType.PAYMENT_DECLINED
    assert record(ledger, order_id).captured == 0
    assert ActivityEnvironment().run(payment.void_payment, OrderRef(order_id=order_id)).undone
    assert record(ledger, order_id).status == RecordState.VOIDED
