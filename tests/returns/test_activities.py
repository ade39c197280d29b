"""Return activities against moto: the refund is idempotent per return and never above what is
left of the captured amount; each return email goes out once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.mail.mailer import Mailer
from oms.orders.gateway import SimulatedGateway
from oms.orders.ledger import Ledger
from oms.orders.records import Payment, RecordState
from oms.returns.activities import ReturnActivities
from oms.returns.contract import ReturnErrorType, ReturnEvent, return_id
from oms.returns.payloads import (
    HoldInput,
    RefundReturnInput,
    ReturnLine,
    ReturnNotifyInput,
    ReturnRef,
)


@pytest.fixture(scope="module")
def activities(ledger: Ledger, clients: AwsClients, settings: Settings) -> ReturnActivities:
    mailer = Mailer(
        sesv2=clients.sesv2, ledger=ledger, sender=settings.sender_email, configuration_set=None
    )
    return ReturnActivities(ledger=ledger, gateway=SimulatedGateway(ledger), mailer=mailer)


def refund(activities: ReturnActivities, order_id: str, number: int, amount: str) -> Decimal:
    request = RefundReturnInput(
        order_id=order_id, return_id=return_id(order_id, number), amount=Decimal(amount)
    )
    return ActivityEnvironment().run(activities.refund_return, request).amount


def test_refunds_are_idempotent_per_return_and_capped_at_what_is_left(
    activities: ReturnActivities, ledger: Ledger, order_id: str
) -> None:
    ledger.put_new(
        Payment(
            order_id=order_id,
            status=RecordState.CAPTURED,
            amount=Decimal("45.00"),
            captured=Decimal("45.00"),
            currency="EUR",
        )
    )

    first = refund(activities, order_id, 1, "30.00")
    retried = refund(activities, order_id, 1, "30.00")
    second = refund(activities, order_id, 2, "30.00")

    assert (first, retried, second) == (Decimal("30.00"), Decimal("30.00"), Decimal("15.00"))
    payment = ledger.get(Payment, order_id)
    assert payment is not None
    assert payment.refunded == Decimal("45.00")


def test_each_return_email_is_sent_once(activities: ReturnActivities, order_id: str) -> None:
    request = ReturnNotifyInput(
        order_id=order_id,
        return_id=return_id(order_id, 1),
        event=ReturnEvent.INSTRUCTIONS,
        customer_name="Ada Lovelace",
        email="ada@example.com",
        lines=[ReturnLine(sku="MUG-RED", quantity=1, unit_price=Decimal("12.50"))],
        currency="EUR",
    )

    first = ActivityEnvironment().run(activities.notify_return, request)
    again = ActivityEnvironment().run(activities.notify_return, request)

    assert first.message_id is not None
    assert not first.deduplicated
    assert again.deduplicated
    assert again.message_id == first.message_id


def test_the_window_is_checked_on_the_workers_clock_with_the_workers_setting(
    ledger: Ledger, clients: AwsClients, settings: Settings, order_id: str
) -> None:
    """`OMS_RETURN_WINDOW_DAYS` is the worker's; the operator's clock plays no part."""
    mailer = Mailer(
        sesv2=clients.sesv2, ledger=ledger, sender=settings.sender_email, configuration_set=None
    )
    shipped_at = datetime(2026, 1, 1, tzinfo=UTC)
    request = HoldInput(
        order_id=order_id, number=1, lines={"MUG": 1}, shipped={"MUG": 1}, shipped_at=shipped_at
    )

    def worker(days_later: int) -> ReturnActivities:
        return ReturnActivities(
            ledger=ledger,
            gateway=SimulatedGateway(ledger),
            mailer=mailer,
            window_days=10,
            clock=lambda: shipped_at + timedelta(days=days_later),
        )

    with pytest.raises(ApplicationError, match="10-day return window is over") as refused:
        ActivityEnvironment().run(worker(11).hold_return, request)
    assert refused.value.type == ReturnErrorType.NOT_RETURNABLE
    assert ActivityEnvironment().run(worker(9).hold_return, request).changed
    assert not ActivityEnvironment().run(worker(9).hold_return, request).changed  # retried


def test_a_release_before_the_hold_leaves_a_tombstone_the_late_hold_cannot_pass(
    activities: ReturnActivities, order_id: str
) -> None:
    request = HoldInput(
        order_id=order_id,
        number=1,
        lines={"MUG": 1},
        shipped={"MUG": 1},
        shipped_at=datetime.now(UTC),
    )
    released = ActivityEnvironment().run(
        activities.release_return, ReturnRef(order_id=order_id, number=1)
    )
    assert not released.undone
    with pytest.raises(ApplicationError) as late:
        ActivityEnvironment().run(activities.hold_return, request)
    assert late.value.type == ReturnErrorType.RETURN_CLOSED
