"""Customer email through SES, exactly one per (order, event); shared by every flow.

SES has no idempotency token, so the ledger keeps an EMAIL record per event (an order's outcome,
a return event, ...), written after SES accepted the message; a retried activity finds it and
does not send again. The only window for a duplicate is a crash between SES accepting the message
and the record being written. An SES outage raises and Temporal retries with backoff; an address
SES refuses for good is recorded as rejected and never retried; a refusal that is our problem
(sender not verified, sandbox, account paused, IAM) raises `EmailBlockedError` — retried, counted
for the EmailsBlocked alarm, and never final (`oms.mail.ses_errors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from temporalio import activity

from oms import metrics
from oms.mail.ses_errors import EmailBlockedError, SesRefusal, classify
from oms.metrics import Metric
from oms.process.wire import WireModel
from oms.records import Record, RecordState, RecordStore

if TYPE_CHECKING:
    from mypy_boto3_sesv2.client import SESV2Client


class Email(Record):
    """One customer email, keyed per event (`EMAIL#<event>`), written after SES accepted it."""

    KIND = "EMAIL"
    message_id: str | None = None
    detail: str | None = None


class NotifyResult(WireModel):
    message_id: str | None = None
    deduplicated: bool = False
    # SES refused the address for good: recorded, never retried.
    rejected: str | None = None


class Mailer:
    """Sends one email per (order, event) through SESv2."""

    def __init__(
        self, *, sesv2: SESV2Client, ledger: RecordStore, sender: str, configuration_set: str | None
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
                rejected=sent.detail if sent.status == RecordState.REJECTED else None,
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
            refusal = classify(exc)
            if refusal is SesRefusal.TRANSIENT:
                raise  # throttling, an outage: Temporal retries
            if refusal is SesRefusal.CONFIGURATION:
                blocked = EmailBlockedError(exc)
                activity.logger.error("email for order %s blocked: %s", order_id, blocked)
                metrics.count(Metric.EMAILS_BLOCKED, Reason=blocked.code)
                # Not `from exc`: SES's own message names the recipient.
                raise blocked from None
            code = exc.response.get("Error", {}).get("Code", "")
            detail = f"SES refused the address ({code})"
            self._ledger.put_new(
                Email(order_id=order_id, record=record, status=RecordState.REJECTED, detail=detail)
            )
            activity.logger.warning("email for order %s rejected: %s", order_id, code)
            metrics.count(Metric.EMAILS_REJECTED, Event=_event_kind(event))
            return NotifyResult(rejected=detail)
        message_id = response["MessageId"]
        self._ledger.put_new(
            Email(order_id=order_id, record=record, status=RecordState.SENT, message_id=message_id)
        )
        activity.logger.info("emailed the customer of order %s (%s)", order_id, event)
        metrics.count(Metric.EMAILS_SENT, Event=_event_kind(event))
        return NotifyResult(message_id=message_id)


def _event_kind(event: str) -> str:
    """`COMPLETED`, or `RETURN` for the return events (`RETURN#...`): a bounded dimension."""
    return event.split("#", 1)[0].split("-", 1)[0]
