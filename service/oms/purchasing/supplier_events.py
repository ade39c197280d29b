"""A supplier's event on the wire (CONTRACT.md §6f), as its webhook puts it on the events queue;
the emulated supplier and `oms supplier event` build theirs here, so both say the same."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from oms.purchasing.contract import SupplierStatus

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


def supplier_event_body(
    purchase_order_id: str,
    status: SupplierStatus,
    *,
    eta: date | None = None,
    quantity: int | None = None,
    event_id: str | None = None,
) -> str:
    event: dict[str, Any] = {
        "type": "supplierEvent",
        "eventId": event_id or f"evt-{uuid.uuid4().hex}",
        "purchaseOrderId": purchase_order_id,
        "status": status.value,
    }
    if eta is not None:
        event["eta"] = eta.isoformat()
    if quantity is not None:
        event["quantity"] = quantity
    return json.dumps(event)


def send_supplier_event(sqs: SQSClient, events_url: str, body: str) -> str:
    return sqs.send_message(QueueUrl=events_url, MessageBody=body)["MessageId"]
