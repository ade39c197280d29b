"""From one SQS record to exactly one order workflow.

- valid and new: claim the order id in the ledger with the body's fingerprint, then start
  `order-<orderId>`;
- already started (running or closed) with the same body: a duplicate, acknowledged;
- already started with a different body: a conflict, dead-lettered with that reason;
- invalid (not JSON, a broken rule, too large): dead-lettered unchanged, with the reason;
- anything else (Temporal unreachable, throttled, the DLQ unreachable): raised, so only this
  record fails and SQS delivers it again; after the receive limit SQS moves it to the DLQ.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from temporalio.service import RPCError, RPCStatusCode

from oms import metrics
from oms.metrics import Metric
from oms.orders.client import OrderClient, Submission
from oms.orders.models import InvalidOrderError, parse_order
from oms.subscriptions.client import Created, IntervalTooShortError, SubscriptionClient
from oms.subscriptions.models import message_type, parse_subscription

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

log = logging.getLogger("oms.intake.records")

REASON_ATTRIBUTE = "oms.reason"
KIND_ATTRIBUTE = "oms.kind"
SOURCE_ATTRIBUTE = "oms.sourceMessageId"
MAX_REASON = 1000


class Outcome(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Message:
    """What the intake needs of an SQS record."""

    message_id: str
    body: str
    sent_at: datetime | None = None


def sent_at(millis: str | int) -> datetime:
    """SQS's `SentTimestamp` (epoch milliseconds) as a time."""
    return datetime.fromtimestamp(int(millis) / 1000, tz=UTC)


def _keys(message: Message, order_id: str | None, outcome: str) -> dict[str, str | None]:
    """Structured log keys: the order id is the correlation key (never personal data)."""
    return {"order_id": order_id, "message_id": message.message_id, "outcome": outcome}


def failure_reason(exc: BaseException) -> str:
    """Why a start failed, for the log: the error's kind and the service's message (Temporal's
    and AWS's messages name resources and codes, not the order's personal data)."""
    if isinstance(exc, RPCError):
        return f"Temporal {exc.status.name}: {exc.message}"[:300]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


SQS_MAX_BYTES = 256 * 1024
ATTRIBUTE_OVERHEAD = 512  # names, types, kind and source id of our attributes


def _printable(text: str) -> str:
    """Reasons may quote the input: no control characters in a message attribute."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _fitting(reason: str, body: str) -> str:
    """The reason, cut so the body (unchanged) plus our attributes stay within SQS's limit."""
    room = SQS_MAX_BYTES - len(body.encode()) - ATTRIBUTE_OVERHEAD
    reason = reason[: max(16, min(MAX_REASON, room))]
    while len(reason.encode()) > max(16, min(MAX_REASON, room)):
        reason = reason[:-1]
    return reason


class OrderIntake:
    def __init__(
        self,
        *,
        orders: OrderClient,
        sqs: SQSClient,
        dlq_url: str,
        subscriptions: SubscriptionClient | None = None,
    ) -> None:
        self.orders = orders
        self.subscriptions = subscriptions
        self.sqs = sqs
        self._dlq_url = dlq_url

    async def accept(self, message: Message) -> Outcome:
        if message_type(message.body) == "subscription":  # CONTRACT.md §4: message types
            return await self._subscription(message)
        try:
            order = parse_order(message.body)
        except InvalidOrderError as error:
            await self._dead_letter(message, Outcome.INVALID, error.reason)
            return Outcome.INVALID
        try:
            submitted = await self.orders.submit(order, enqueued_at=message.sent_at)
        except Exception as exc:
            if isinstance(exc, RPCError) and exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                # The scaling guard: no scale-up while the namespace is rate-limited.
                metrics.count(Metric.START_THROTTLED)
            # Why, at WARNING: the batch processor reports a failed record only at DEBUG.
            log.warning(
                "order %s: not started (%s); SQS delivers it again",
                order.order_id,
                failure_reason(exc),
                extra=_keys(message, order.order_id, "retry"),
            )
            raise
        if submitted == Submission.CONFLICT:
            reason = (
                f"conflict: order {order.order_id} was already received with different content; "
                "the first message is kept"
            )
            await self._dead_letter(message, Outcome.CONFLICT, reason)
            return Outcome.CONFLICT
        outcome = Outcome(submitted.value)
        metrics.count(
            Metric.ORDERS_STARTED if outcome == Outcome.STARTED else Metric.ORDERS_DUPLICATE
        )
        log.info(
            "order %s: %s", order.order_id, outcome, extra=_keys(message, order.order_id, outcome)
        )
        return outcome

    async def _subscription(self, message: Message) -> Outcome:
        """A subscription message starts `subscription-<subscriptionId>` once (a redelivery is
        a duplicate); invalid, an interval below the deployment's minimum, or the same id with
        another body (a conflict): dead-lettered with the reason."""
        try:
            if self.subscriptions is None:
                raise InvalidOrderError("subscriptions are not accepted by this intake")
            subscription = parse_subscription(message.body)
            created = await self.subscriptions.create(subscription)
        except (InvalidOrderError, IntervalTooShortError) as error:
            await self._dead_letter(message, Outcome.INVALID, str(error))
            return Outcome.INVALID
        sid = subscription.subscription_id
        if created == Created.CONFLICT:
            reason = (
                f"conflict: subscription {sid} was already received with different content; "
                "the first message is kept"
            )
            await self._dead_letter(message, Outcome.CONFLICT, reason)
            return Outcome.CONFLICT
        outcome = Outcome.STARTED if created == Created.STARTED else Outcome.DUPLICATE
        log.info("subscription %s: %s", sid, outcome, extra=_keys(message, None, outcome))
        return outcome

    async def _dead_letter(self, message: Message, kind: Outcome, reason: str) -> None:
        """Move the message to the DLQ unchanged, the reason in its attributes. Blocking boto3
        runs in a thread; if the DLQ is unreachable this raises and the record is retried."""
        reason = _fitting(_printable(reason), message.body)
        await asyncio.to_thread(
            self.sqs.send_message,
            QueueUrl=self._dlq_url,
            MessageBody=message.body,
            MessageAttributes={
                REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason},
                KIND_ATTRIBUTE: {"DataType": "String", "StringValue": kind.value},
                SOURCE_ATTRIBUTE: {"DataType": "String", "StringValue": message.message_id},
            },
        )
        metrics.count(Metric.ORDERS_DEAD_LETTERED, Kind=kind.value)
        log.warning(
            "message %s dead-lettered (%s): %s",
            message.message_id,
            kind,
            reason[:200],
            extra=_keys(message, None, kind.value),
        )
