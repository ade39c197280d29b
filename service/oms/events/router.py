"""From one events-queue message to one signal: a carrier event goes to the delivery its
tracking number belongs to (`oms.delivery.tracking`), a supplier event to the purchase order it
names (`po-...`, §6f).

- routed: signalled (the workflow ignores an event id it has seen: exactly once in effect);
- late: the delivery or purchase order already finished (acknowledged, changes nothing);
- invalid, an unknown tracking number or an unknown purchase order: dead-lettered unchanged,
  with the reason;
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
from oms.events.messages import (
    CarrierEventMessage,
    InvalidEventError,
    SupplierEventMessage,
    parse_event,
)
from oms.intake.records import KIND_ATTRIBUTE, REASON_ATTRIBUTE, SOURCE_ATTRIBUTE, Message
from oms.purchasing.contract import SUPPLIER_EVENT_SIGNAL
from oms.purchasing.payloads import SupplierEvent

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
        if isinstance(event, SupplierEventMessage):
            return await self._to_purchase_order(message, event)
        return await self._to_delivery(message, event)

    async def _to_delivery(self, message: Message, event: CarrierEventMessage) -> EventOutcome:
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

    async def _to_purchase_order(
        self, message: Message, event: SupplierEventMessage
    ) -> EventOutcome:
        target = event.purchase_order_id
        handle = self._client.get_workflow_handle(target)
        signal = SupplierEvent(
            event_id=event.event_id, status=event.status, eta=event.eta, quantity=event.quantity
        )
        try:
            await handle.signal(SUPPLIER_EVENT_SIGNAL, signal)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise  # transient: SQS delivers it again
            # NOT_FOUND is both "ended" and "never existed": only describe tells them apart.
            try:
                await handle.describe()
            except RPCError as missing:
                if missing.status != RPCStatusCode.NOT_FOUND:
                    raise
                reason = f"unknown purchase order {target}"
                await self._dead_letter(message, EventOutcome.UNKNOWN, reason)
                return EventOutcome.UNKNOWN
            log.info("event %s for %s: the purchase order already ended", event.event_id, target)
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
