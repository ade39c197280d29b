"""Customer email through SES: exactly one per order event.

Rendering is the order's own; sending once per event is the shared mailer's (`oms.mail`).
"""

from __future__ import annotations

from html import escape
from typing import Final

from temporalio import activity

from oms import metrics
from oms.mail.mailer import Mailer, NotifyResult
from oms.metrics import Metric
from oms.orders.contract import BACKORDERED_EMAIL, CUSTOMER_TEXT, FailureReason, OrderState
from oms.orders.payloads import NotifyInput

SUBJECTS: Final = {
    OrderState.COMPLETED: "Your order {order_id} is on its way",
    OrderState.CANCELLED: "Your order {order_id} has been cancelled",
    OrderState.FAILED: "We could not complete your order {order_id}",
}


def customer_reason(reason: str | None) -> str:
    try:
        return CUSTOMER_TEXT[FailureReason(reason or "")]
    except ValueError:
        return "of a problem on our side"


def render(request: NotifyInput) -> tuple[str, str, str]:
    """Subject, text body and HTML body. Only the order's own data; nothing from logs."""
    subject = SUBJECTS.get(request.outcome, "Update on your order {order_id}").format(
        order_id=request.order_id
    )
    if request.event == BACKORDERED_EMAIL:  # waiting for a supplier (§6f), not an outcome
        subject = f"Your order {request.order_id} is backordered"
        summary = (
            f"Some items of your order {request.order_id} are on their way to us from our "
            "supplier. We expect them by "
            f"{request.eta.isoformat() if request.eta else 'a date we will confirm'} and will "
            "ship your order as soon as they arrive. Your card is only charged then."
        )
    elif request.event is not None:  # a change, not an outcome (an edit's new summary)
        subject = f"Your order {request.order_id} was changed"
        summary = f"Your order {request.order_id} was changed as you asked. The new summary:"
    elif request.outcome == OrderState.COMPLETED:
        summary = f"Your order {request.order_id} has shipped."
        if request.tracking_number:
            summary += f" Tracking number: {request.tracking_number}."
    elif request.outcome == OrderState.CANCELLED:
        summary = (
            f"Your order {request.order_id} has been cancelled. Nothing was charged; "
            "any hold on your card is released."
        )
    else:
        why = customer_reason(request.reason)
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
    def __init__(self, *, mailer: Mailer) -> None:
        self._mailer = mailer

    @activity.defn
    def notify_customer(self, request: NotifyInput) -> NotifyResult:
        subject, text, html = render(request)
        result = self._mailer.send_once(
            request.order_id,
            request.event or request.outcome.value,
            to=request.email,
            subject=subject,
            text=text,
            html=html,
        )
        if not result.deduplicated and request.event is None:
            # Every outcome sends exactly one email, so the first send counts the outcome once
            # (a retry finds the email record and is deduplicated): no workflow-side action.
            count_outcome(request.outcome, request.reason)
        return result


OUTCOME_METRICS: Final = {
    OrderState.COMPLETED: Metric.ORDERS_COMPLETED,
    OrderState.CANCELLED: Metric.ORDERS_CANCELLED,
    OrderState.FAILED: Metric.ORDERS_FAILED,
}


def count_outcome(outcome: OrderState, reason: str | None) -> None:
    metric = OUTCOME_METRICS.get(outcome)
    if metric is not None:
        # Only the reason codes of the enum: free text would make a metric per order.
        known = reason in {r.value for r in FailureReason}
        metrics.count(metric, Reason=reason if known else ("OTHER" if reason else None))
