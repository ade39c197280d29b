"""Email against moto's SES: one email per order, even when the activity is retried."""

from __future__ import annotations

from decimal import Decimal

from temporalio.testing import ActivityEnvironment

from oms.local.moto import sent_emails
from oms.orders.activities.notification import NotificationActivities, render
from oms.orders.contract import OrderState
from oms.orders.models import OrderLine
from oms.orders.payloads import NotifyInput


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


def test_a_retried_notification_sends_one_email(
    notification: NotificationActivities, moto_endpoint: str, order_id: str
) -> None:
    first = ActivityEnvironment().run(notification.notify_customer, notify(order_id))
    again = ActivityEnvironment().run(notification.notify_customer, notify(order_id))
    assert (first.deduplicated, again.deduplicated) == (False, True)
    assert again.message_id == first.message_id
    mine = [e for e in sent_emails(moto_endpoint) if order_id in e.subject]
    assert len(mine) == 1
    assert mine[0].to == ["grace@example.com"]


def test_every_outcome_names_the_order_and_escapes_html() -> None:
    for outcome in (OrderState.COMPLETED, OrderState.CANCELLED, OrderState.FAILED):
        subject, text, html = render(notify("ORD-7", outcome))
        assert "ORD-7" in subject
        assert "ORD-7" in text
        assert "<Hopper>" not in html
    assert "TRK1" in render(notify("ORD-7"))[1]
