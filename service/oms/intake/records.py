"""From one SQS record to exactly one order workflow (PRODUCT.md §5).

- valid and new: start `order-<orderId>` with the order's fingerprint in the memo;
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
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from oms.config import Settings
from oms.orders.contract import FINGERPRINT_MEMO, ORDER_STATUS_KEY, OrderState, order_workflow_id
from oms.orders.models import InvalidOrderError, OrderMessage, parse_order
from oms.orders.payloads import OrderInput
from oms.orders.workflow import OrderWorkflow

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


def sent_timestamp(attributes: dict[str, Any]) -> datetime | None:
    millis = attributes.get("SentTimestamp")
    return datetime.fromtimestamp(int(millis) / 1000, tz=UTC) if millis else None


def _keys(message: Message, order_id: str | None, outcome: str) -> dict[str, str | None]:
    """Structured log keys: the order id is the correlation key (never personal data)."""
    return {"order_id": order_id, "message_id": message.message_id, "outcome": outcome}


class OrderIntake:
    def __init__(self, *, client: Client, sqs: Any, dlq_url: str, settings: Settings) -> None:
        self.client = client
        self.sqs = sqs
        self._dlq_url = dlq_url
        self._task_queue = settings.task_queue

    async def accept(self, message: Message) -> Outcome:
        try:
            order = parse_order(message.body)
        except InvalidOrderError as error:
            await self._dead_letter(message, Outcome.INVALID, error.reason)
            return Outcome.INVALID
        try:
            await self.client.start_workflow(
                OrderWorkflow.run,
                OrderInput(order=order, enqueued_at=message.sent_at),
                id=order_workflow_id(order.order_id),
                task_queue=self._task_queue,
                # FAIL (the default conflict policy) with REJECT_DUPLICATE: any earlier run of
                # this id, running or closed, raises instead of starting a second workflow, and
                # we then compare fingerprints to tell a redelivery from a conflicting reuse.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo={FINGERPRINT_MEMO: order.fingerprint()},
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(ORDER_STATUS_KEY, OrderState.RECEIVED.value)]
                ),
            )
        except WorkflowAlreadyStartedError:
            return await self._existing(message, order)
        log.info(
            "started order %s", order.order_id, extra=_keys(message, order.order_id, "started")
        )
        return Outcome.STARTED

    async def _existing(self, message: Message, order: OrderMessage) -> Outcome:
        description = await self.client.get_workflow_handle(
            order_workflow_id(order.order_id)
        ).describe()
        fingerprint = await description.memo_value(FINGERPRINT_MEMO, None)
        if fingerprint == order.fingerprint():
            log.info(
                "duplicate of order %s acknowledged",
                order.order_id,
                extra=_keys(message, order.order_id, "duplicate"),
            )
            return Outcome.DUPLICATE
        reason = (
            f"conflict: order {order.order_id} was already received with different content; "
            "the first message is kept"
        )
        await self._dead_letter(message, Outcome.CONFLICT, reason)
        return Outcome.CONFLICT

    async def _dead_letter(self, message: Message, kind: Outcome, reason: str) -> None:
        """Move the message to the DLQ unchanged, the reason in its attributes. Blocking boto3
        runs in a thread; if the DLQ is unreachable this raises and the record is retried."""
        await asyncio.to_thread(
            self.sqs.send_message,
            QueueUrl=self._dlq_url,
            MessageBody=message.body,
            MessageAttributes={
                REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:MAX_REASON]},
                KIND_ATTRIBUTE: {"DataType": "String", "StringValue": kind.value},
                SOURCE_ATTRIBUTE: {"DataType": "String", "StringValue": message.message_id},
            },
        )
        log.warning(
            "message %s dead-lettered (%s): %s",
            message.message_id,
            kind,
            reason[:200],
            extra=_keys(message, None, kind.value),
        )
