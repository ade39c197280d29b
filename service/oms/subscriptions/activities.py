"""The subscription's own activity: its emails (reminder, dunning, suspended), once per key.

The orders a subscription places send their own outcome emails; this sends only what the
subscription itself says. Idempotent by (subscription, event, key) in the shared mailer.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Final

from temporalio import activity

from oms.mail.mailer import Mailer, NotifyResult
from oms.subscriptions.contract import SubscriptionEvent, subscription_workflow_id
from oms.subscriptions.payloads import SubscriptionNotifyInput

SUBJECTS: Final = {
    SubscriptionEvent.REMINDER: "Your subscription {sid} renews soon",
    SubscriptionEvent.DUNNING: "Your subscription {sid}: the payment was declined",
    SubscriptionEvent.SUSPENDED: "Your subscription {sid} is suspended",
}


def render(request: SubscriptionNotifyInput) -> tuple[str, str, str]:
    sid = request.subscription_id
    when = f"{request.charge_at:%Y-%m-%d %H:%M} UTC" if request.charge_at else "soon"
    if request.event == SubscriptionEvent.REMINDER:
        summary = f"Your subscription {sid} will be charged on {when} (cycle {request.cycle})."
    elif request.event == SubscriptionEvent.DUNNING:
        summary = (
            f"The payment for cycle {request.cycle} of your subscription {sid} was declined. "
            f"We will try again on {when}; you can update your payment method before then."
        )
    else:
        summary = (
            f"We could not charge cycle {request.cycle} of your subscription {sid}, so it is "
            "suspended. Update your payment method to resume it."
        )
    lines = [f"{line.quantity} x {line.sku} @ {line.unit_price}" for line in request.lines]
    total = sum((line.amount for line in request.lines), Decimal("0.00"))
    lines.append(f"Total per cycle: {total} {request.currency}")
    text = "\n".join([f"Hello {request.customer_name},", "", summary, "", *lines])
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    html = f"<p>Hello {escape(request.customer_name)},</p><p>{escape(summary)}</p><ul>{items}</ul>"
    return SUBJECTS[request.event].format(sid=sid), text, html


class SubscriptionActivities:
    def __init__(self, *, mailer: Mailer) -> None:
        self._mailer = mailer

    @activity.defn
    def notify_subscription(self, request: SubscriptionNotifyInput) -> NotifyResult:
        subject, text, html = render(request)
        return self._mailer.send_once(
            subscription_workflow_id(request.subscription_id),
            f"{request.event.value}#{request.key}",
            to=request.email,
            subject=subject,
            text=text,
            html=html,
        )
