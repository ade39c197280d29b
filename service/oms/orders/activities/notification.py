"""Customer email through SES: exactly one per order outcome.

SES has no idempotency token, so the order ledger keeps an EMAIL record written after a
successful send; a retried activity finds it and does not send again. The only window for a
duplicate is a crash between SES accepting the message and the record being written.
An SES outage raises, Temporal retries with backoff; the order's outcome never depends on it.
"""

from __future__ import annotations

from html import escape
from typing import Any

from temporalio import activity

from oms.orders.contract import OrderState
from oms.orders.ledger import EMAIL, Ledger, now_iso, text
from oms.orders.payloads import NotifyInput, NotifyResult

SUBJECTS = {
    OrderState.COMPLETED: "Your order {order_id} is on its way",
    OrderState.CANCELLED: "Your order {order_id} has been cancelled",
    OrderState.FAILED: "We could not complete your order {order_id}",
}

REASONS = {
    "OUT_OF_STOCK": "some items are out of stock",
    "PAYMENT_DECLINED": "the payment was declined",
}


def render(request: NotifyInput) -> tuple[str, str, str]:
    """Subject, text body and HTML body. Only the order's own data; nothing from logs."""
    subject = SUBJECTS.get(request.outcome, "Update on your order {order_id}").format(
        order_id=request.order_id
    )
    if request.outcome == OrderState.COMPLETED:
        summary = f"Your order {request.order_id} has shipped."
        if request.tracking_number:
            summary += f" Tracking number: {request.tracking_number}."
    elif request.outcome == OrderState.CANCELLED:
        summary = f"Your order {request.order_id} has been cancelled. Any payment is refunded."
    else:
        why = REASONS.get(request.reason or "", "of a problem on our side")
        summary = f"Your order {request.order_id} could not be completed because {why}."
    lines = [f"{line.quantity} x {line.sku} @ {line.unit_price}" for line in request.lines]
    total = f"Total: {request.total_amount} {request.currency}"
    body = "\n".join([f"Hello {request.customer_name},", "", summary, "", *lines, total])
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    html = (
        f"<p>Hello {escape(request.customer_name)},</p><p>{escape(summary)}</p>"
        f"<ul>{items}</ul><p>{escape(total)}</p>"
    )
    return subject, body, html


class NotificationActivities:
    def __init__(
        self, *, sesv2: Any, ledger: Ledger, sender: str, configuration_set: str | None = None
    ) -> None:
        self._ses = sesv2
        self._ledger = ledger
        self._sender = sender
        self._configuration_set = configuration_set

    @activity.defn
    def notify_customer(self, request: NotifyInput) -> NotifyResult:
        sent = self._ledger.get(request.order_id, EMAIL)
        if sent is not None:
            return NotifyResult(message_id=sent["messageId"]["S"], deduplicated=True)
        subject, body, html = render(request)
        extra = {"ConfigurationSetName": self._configuration_set} if self._configuration_set else {}
        response = self._ses.send_email(
            FromEmailAddress=self._sender,
            Destination={"ToAddresses": [request.email]},
            Content={
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": body, "Charset": "UTF-8"},
                        "Html": {"Data": html, "Charset": "UTF-8"},
                    },
                }
            },
            EmailTags=[{"Name": "outcome", "Value": request.outcome.value}],
            **extra,
        )
        message_id = response["MessageId"]
        self._ledger.put_new(
            request.order_id,
            EMAIL,
            {"messageId": text(message_id), "outcome": text(request.outcome), "at": now_iso()},
        )
        activity.logger.info("emailed the customer of order %s", request.order_id)
        return NotifyResult(message_id=message_id)
