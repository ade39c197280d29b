"""Customer email through SES: exactly one per order event.

SES has no idempotency token, so the ledger keeps an EMAIL record per event (the outcome, or
a return event), written after SES accepted the message; a retried activity finds it and does
not send again. The only window for a duplicate is a crash between SES accepting the message
and the record being written. An SES outage raises and Temporal retries with backoff; an address
SES refuses for good is recorded as rejected and never retried.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError
from temporalio import activity

from oms import metrics
from oms.metrics import Metric
from oms.orders.contract import CUSTOMER_TEXT, FailureReason, OrderState
from oms.orders.ledger import Ledger
from oms.orders.payloads import NotifyInput, NotifyResult
from oms.orders.records import Email, Status

if TYPE_CHECKING:
    from mypy_boto3_sesv2.client import SESV2Client

# SES's answers that no retry can change for this message (a malformed or refused address).
PERMANENT_ERRORS: Final = frozenset({"BadRequestException", "MessageRejected"})

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
    if request.outcome == OrderState.COMPLETED:
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


class Mailer:
    """Sends one email per (order, event) through SESv2; shared by orders and returns."""

    def __init__(
        self, *, sesv2: SESV2Client, ledger: Ledger, sender: str, configuration_set: str | None
    ) -> None:
        self._ses = sesv2
        self._ledger = ledger
        self._sender = sender
        self._configuration_set = configuration_set

    def send_once(
        self, order_id: str, event: str, *, to: str, subject: str, text: str, html: str
    ) -> NotifyResult:
        record = f"{Email.KIND}#{event}"
        sent = self._ledger.get(Email, order_id, record)
        if sent is not None:
            return NotifyResult(
                message_id=sent.message_id,
                deduplicated=True,
                rejected=sent.detail if sent.status == Status.REJECTED else None,
            )
        extra = {"ConfigurationSetName": self._configuration_set} if self._configuration_set else {}
        try:
            response = self._ses.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": text, "Charset": "UTF-8"},
                            "Html": {"Data": html, "Charset": "UTF-8"},
                        },
                    }
                },
                EmailTags=[{"Name": "event", "Value": event.replace("#", "-")}],
                **extra,  # type: ignore[arg-type]
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in PERMANENT_ERRORS:
                raise  # throttling, an outage: Temporal retries
            detail = f"SES refused the address ({code})"
            self._ledger.put_new(
                Email(order_id=order_id, record=record, status=Status.REJECTED, detail=detail)
            )
            activity.logger.warning("email for order %s rejected: %s", order_id, code)
            metrics.count(Metric.EMAILS_REJECTED, Event=_event_kind(event))
            return NotifyResult(rejected=detail)
        message_id = response["MessageId"]
        self._ledger.put_new(
            Email(order_id=order_id, record=record, status=Status.SENT, message_id=message_id)
        )
        activity.logger.info("emailed the customer of order %s (%s)", order_id, event)
        metrics.count(Metric.EMAILS_SENT, Event=_event_kind(event))
        return NotifyResult(message_id=message_id)


class NotificationActivities:
    def __init__(self, *, mailer: Mailer) -> None:
        self._mailer = mailer

    @activity.defn
    def notify_customer(self, request: NotifyInput) -> NotifyResult:
        subject, text, html = render(request)
        result = self._mailer.send_once(
            request.order_id,
            request.outcome.value,
            to=request.email,
            subject=subject,
            text=text,
            html=html,
        )
        if not result.deduplicated:
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


def _event_kind(event: str) -> str:
    """`COMPLETED`, or `RETURN` for the return events (`RETURN#...`): a bounded dimension."""
    return event.split("#", 1)[0].split("-", 1)[0]
