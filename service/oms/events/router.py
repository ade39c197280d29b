"""From one events-queue message to one signal: a carrier event goes to the delivery its
tracking number belongs to (`oms.delivery.tracking`).

- routed: signalled (the delivery ignores an event id it has seen: exactly once in effect);
- late: the delivery already finished (acknowledged, changes nothing);
- invalid or an unknown tracking number: dead-lettered unchanged, with the reason;
- anything else (Temporal or DynamoDB unreachable): raised, so SQS delivers it again.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from oms.delivery.contract import CARRIER_EVENT_SIGNAL
from oms.delivery.payloads import CarrierEvent
from oms.delivery.tracking import TrackingBook
from oms.events.messages import InvalidEventError, parse_event
from oms.intake.records import KIND_ATTRIBUTE, REASON_ATTRIBUTE, SOURCE_ATTRIBUTE, Message

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

log = logging.getLogger("oms.events")


class EventOutcome(StrEnum):
    ROUTED = "routed"
    LATE = "late"
    INVALID = "invalid"
    UNKNOWN = "unknown"


class EventRouter:
    def __init__(
        self, *, client: Client, tracking: TrackingBook, sqs: SQSClient, dlq_url: str
    ) -> None:
        self._client = client
        self._tracking = tracking
        self._sqs = sqs
        self._dlq_url = dlq_url

    async def route_event(self, message: Message) -> EventOutcome:
        try:
            event = parse_event(message.body)
        except InvalidEventError as error:
            await self._dead_letter(message, EventOutcome.INVALID, error.reason)
            return EventOutcome.INVALID
        target = await asyncio.to_thread(self._tracking.delivery_of, event.tracking_number)
        if target is None:
            reason = f"unknown tracking number {event.tracking_number}"
            await self._dead_letter(message, EventOutcome.UNKNOWN, reason)
            return EventOutcome.UNKNOWN
        signal = CarrierEvent(
            event_id=event.event_id,
            tracking_number=event.tracking_number,
            status=event.status,
            at=event.at,
        )
        try:
            await self._client.get_workflow_handle(target).signal(CARRIER_EVENT_SIGNAL, signal)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise  # transient: SQS delivers it again
            log.info("event %s for %s: the delivery already finished", event.event_id, target)
            return EventOutcome.LATE
        log.info("event %s (%s) routed to %s", event.event_id, event.status, target)
        return EventOutcome.ROUTED

    async def _dead_letter(self, message: Message, kind: EventOutcome, reason: str) -> None:
        await asyncio.to_thread(
            self._sqs.send_message,
            QueueUrl=self._dlq_url,
            MessageBody=message.body,
            MessageAttributes={
                REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1000]},
                KIND_ATTRIBUTE: {"DataType": "String", "StringValue": kind.value},
                SOURCE_ATTRIBUTE: {"DataType": "String", "StringValue": message.message_id},
            },
        )
        log.warning("event message %s dead-lettered (%s): %s", message.message_id, kind, reason)
