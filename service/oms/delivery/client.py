"""The client half of deliveries: the parcels of an order (status), settling one by hand
(resolve), and putting a carrier event on the events queue (`oms carrier event`, the emulated
carrier). The CLI and the tests call this; nothing else holds a delivery's workflow handle."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from oms.delivery.contract import DELIVERY_STEP, CarrierStatus, ResolveAction, delivery_id
from oms.delivery.payloads import DeliveryResolveRequest, DeliveryStatus
from oms.delivery.workflow import DeliveryWorkflow
from oms.process.wire import ResolveResponse

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

MAX_PARCELS: Final = 50  # an order has at most one parcel per line


def carrier_event_body(
    tracking_number: str,
    status: CarrierStatus,
    *,
    at: datetime | None = None,
    event_id: str | None = None,
) -> str:
    """A carrier event on the wire (CONTRACT.md §6d)."""
    return json.dumps(
        {
            "type": "carrierEvent",
            "eventId": event_id or f"evt-{uuid.uuid4().hex}",
            "trackingNumber": tracking_number,
            "status": status.value,
            "at": (at or datetime.now(UTC)).isoformat(),
        }
    )


def send_carrier_event(sqs: SQSClient, events_url: str, body: str) -> str:
    return sqs.send_message(QueueUrl=events_url, MessageBody=body)["MessageId"]


class DeliveryClient:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def parcels(self, order_id: str) -> list[DeliveryStatus]:
        """Every parcel's delivery of the order, in parcel order (none before it shipped)."""
        found: list[DeliveryStatus] = []
        for number in range(1, MAX_PARCELS + 1):
            status = await self.status(delivery_id(order_id, number))
            if status is None:
                break
            found.append(status)
        return found

    async def status(self, workflow_id: str) -> DeliveryStatus | None:
        handle = self._client.get_workflow_handle_for(DeliveryWorkflow.run, workflow_id)
        try:
            description = await handle.describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        if description.status == WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        return await handle.query(DeliveryWorkflow.status)

    async def resolve(
        self, order_id: str, action: ResolveAction, note: str, number: int | None = None
    ) -> ResolveResponse:
        """Settle a delivery that needs a person (the parcel given, or the first waiting)."""
        candidates = await self.parcels(order_id)
        waiting = [p for p in candidates if p.attention and (number is None or p.number == number)]
        if not waiting:
            return ResolveResponse(
                accepted=False, message=f"no delivery of order {order_id} needs a person"
            )
        target = waiting[0]
        request = DeliveryResolveRequest(step=DELIVERY_STEP, note=note, action=action)
        try:
            return await self._client.get_workflow_handle(target.delivery_id).execute_update(
                DeliveryWorkflow.resolve, request
            )
        except WorkflowUpdateFailedError as error:
            cause: Any = error.cause
            return ResolveResponse(accepted=False, message=str(getattr(cause, "message", cause)))


async def parcels_json(client: DeliveryClient, order_id: str) -> list[dict[str, Any]]:
    """`status --json`'s `parcels`: one entry per parcel with its delivery."""
    parcels = await client.parcels(order_id)
    return [
        {
            "parcelId": p.delivery_id,
            "warehouse": p.warehouse,
            "items": [{"sku": line.sku, "quantity": line.quantity} for line in p.lines],
            "trackingNumber": p.tracking_number,
            "captured": str(p.captured),
            "delivery": {
                "state": p.state.value,
                "events": [e.model_dump(mode="json", by_alias=True) for e in p.events],
                "attention": p.attention,
            },
        }
        for p in parcels
    ]
