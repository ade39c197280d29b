"""Email against moto's SES: one email per (order, event), even when the activity is retried;
an address SES refuses for good is recorded and never retried; an outage or a problem of the
sender (unverified, sandbox, paused) is retried."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from temporalio.testing import ActivityEnvironment

from oms import metrics
from oms.local.moto import sent_emails
from oms.mail.mailer import Email, Mailer
from oms.mail.ses_errors import EmailBlockedError
from oms.orders.activities.notification import NotificationActivities, render
from oms.orders.contract import BACKORDERED_EMAIL, OrderState
from oms.orders.ledger import Ledger
from oms.orders.models import OrderLine
from oms.orders.payloads import NotifyInput
from oms.orders.records import RecordState


def notify(order_id: str, outcome: OrderState = OrderState.COMPLETED) -> NotifyInput:
    return NotifyInput(
        order_id=order_id,
        outcome=outcome,
        tracking_number="TRK1",
        customer_name="Grace <Hopper>",
        email="grace@example.com",
        currency="EUR",
        total_amount=Decimal("25.00"),
        lines=[OrderLine(sku="MUG-RED", quantity=2, unit_price=Decimal("12.50"))],
    )


class RefusingSes:
    """An SESv2 client that answers every send with `code`, as SES does."""

    def __init__(self, code: str, message: str = "refused") -> None:
        self.code, self.message = code, message
        self.calls = 0

    def send_email(self, **_request: Any) -> dict[str, Any]:
        self.calls += 1
        raise ClientError({"Error": {"Code": self.code, "Message": self.message}}, "SendEmail")


def refusing(
    ledger: Ledger, code: str, message: str = "refused"
) -> tuple[NotificationActivities, RefusingSes]:
    ses = RefusingSes(code, message)
    mailer = Mailer(
        sesv2=ses,  # type: ignore[arg-type]
        ledger=ledger,
        sender="orders@example.com",
        configuration_set=None,
    )
    return NotificationActivities(mailer=mailer), ses


def test_a_retried_notification_sends_one_email(
    notification: NotificationActivities, ledger: Ledger, moto_endpoint: str, order_id: str
) -> None:
    first = ActivityEnvironment().run(notification.notify_customer, notify(order_id))
    again = ActivityEnvironment().run(notification.notify_customer, notify(order_id))
    assert (first.deduplicated, again.deduplicated) == (False, True)
    assert again.message_id == first.message_id
    mine = [e for e in sent_emails(moto_endpoint) if order_id in e.subject]
    assert len(mine) == 1
    assert mine[0].to == ["grace@example.com"]
    record = ledger.get(Email, order_id, "EMAIL#COMPLETED")
    assert record is not None
    assert (record.status, record.message_id) == (RecordState.SENT, first.message_id)


def test_each_outcome_of_an_order_gets_its_own_email(
    notification: NotificationActivities, moto_endpoint: str, order_id: str
) -> None:
    cancelled = ActivityEnvironment().run(
        notification.notify_customer, notify(order_id, OrderState.CANCELLED)
    )
    failed = ActivityEnvironment().run(
        notification.notify_customer, notify(order_id, OrderState.FAILED)
    )
    again = ActivityEnvironment().run(
        notification.notify_customer, notify(order_id, OrderState.CANCELLED)
    )
    assert not cancelled.deduplicated
    assert not failed.deduplicated
    assert failed.message_id != cancelled.message_id
    assert (again.deduplicated, again.message_id) == (True, cancelled.message_id)
    subjects = sorted(e.subject for e in sent_emails(moto_endpoint) if order_id in e.subject)
    assert subjects == [
        f"We could not complete your order {order_id}",
        f"Your order {order_id} has been cancelled",
    ]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("MessageRejected", "Address blacklisted."),
        ("MessageRejected", "Recipient address rejected: grace@example.com"),
        ("BadRequestException", "Illegal address"),
        ("BadRequestException", "Missing final '@domain'"),
    ],
)
def test_a_refused_address_is_recorded_and_not_retried(
    ledger: Ledger, order_id: str, code: str, message: str
) -> None:
    activities, ses = refusing(ledger, code, message)
    first = ActivityEnvironment().run(activities.notify_customer, notify(order_id))
    again = ActivityEnvironment().run(activities.notify_customer, notify(order_id))
    assert first.rejected is not None
    assert code in first.rejected
    assert first.message_id is None
    assert (again.deduplicated, again.rejected) == (True, first.rejected)
    assert ses.calls == 1  # the retry did not ask SES again
    record = ledger.get(Email, order_id, "EMAIL#COMPLETED")
    assert record is not None
    assert record.status == RecordState.REJECTED


UNVERIFIED = (
    "Email address is not verified. The following identities failed the check in region "
    "EU-WEST-1: orders@example.com, grace@example.com"
)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("MessageRejected", UNVERIFIED),  # the sender (or a sandbox recipient) not verified
        ("AccessDeniedException", "not authorized to perform ses:SendEmail on grace@example.com"),
        ("SendingPausedException", "Sending is paused for this account"),
        ("AccountSuspendedException", "suspended"),
        ("NotFoundException", "Configuration set <oms> does not exist."),
        ("MessageRejected", "something SES has never said before"),
    ],
)
def test_a_problem_of_the_sender_retries_alarms_and_never_drops_the_email(
    ledger: Ledger,
    notification: NotificationActivities,
    moto_endpoint: str,
    order_id: str,
    code: str,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 20: an unverified sender answers MessageRejected too; reading it as a bad address
    dropped every email silently. It must retry (Temporal), count EmailsBlocked, and say why
    without the customer's address."""
    stream = io.StringIO()
    metrics.configure(enabled=True, stream=stream)
    activities, ses = refusing(ledger, code, message)
    try:
        with pytest.raises(EmailBlockedError) as blocked:
            ActivityEnvironment().run(activities.notify_customer, notify(order_id))
    finally:
        metrics.configure(enabled=False)

    assert ses.calls == 1
    assert ledger.get(Email, order_id, "EMAIL#COMPLETED") is None  # nothing final recorded
    assert code in str(blocked.value)
    assert "@" not in str(blocked.value)
    assert blocked.value.__cause__ is None
    assert blocked.value.__suppress_context__
    assert "grace@example.com" not in caplog.text
    (emitted,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert emitted["EmailsBlocked"] == 1
    assert emitted["Reason"] == code
    # Fixed (SES answers): the retry sends the one email.
    sent = ActivityEnvironment().run(notification.notify_customer, notify(order_id))
    assert sent.message_id


def test_an_ses_outage_raises_so_temporal_retries_and_records_nothing(
    ledger: Ledger, notification: NotificationActivities, moto_endpoint: str, order_id: str
) -> None:
    activities, ses = refusing(ledger, "ThrottlingException")
    with pytest.raises(ClientError):
        ActivityEnvironment().run(activities.notify_customer, notify(order_id))
    assert ses.calls == 1
    assert ledger.get(Email, order_id, "EMAIL#COMPLETED") is None
    # SES is back: the retry sends the one email.
    sent = ActivityEnvironment().run(notification.notify_customer, notify(order_id))
    assert sent.message_id
    assert not sent.deduplicated
    assert len([e for e in sent_emails(moto_endpoint) if order_id in e.subject]) == 1


def test_every_outcome_names_the_order_and_escapes_html() -> None:
    for outcome in (OrderState.COMPLETED, OrderState.CANCELLED, OrderState.FAILED):
        subject, text, html = render(notify("ORD-7", outcome))
        assert "ORD-7" in subject
        assert "ORD-7" in text
        assert "<Hopper>" not in html
    assert "TRK1" in render(notify("ORD-7"))[1]


def test_a_failure_email_says_why_in_the_customers_words() -> None:
    request = notify("ORD-8", OrderState.FAILED).model_copy(update={"reason": "OUT_OF_STOCK"})
    assert "some items are out of stock" in render(request)[1]
    unknown = request.model_copy(update={"reason": "SOMETHING_INTERNAL"})
    assert "SOMETHING_INTERNAL" not in render(unknown)[1]


def test_the_backordered_email_names_the_order_and_the_eta() -> None:
    request = notify("ORD-9", OrderState.AUTHORIZED).model_copy(
        update={"event": BACKORDERED_EMAIL, "eta": date(2026, 3, 4)}
    )
    subject, text, _ = render(request)
    assert subject == "Your order ORD-9 is backordered"
    assert "ORD-9" in text
    assert "2026-03-04" in text
