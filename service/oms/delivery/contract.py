"""The public contract of deliveries: workflow ids, handler names, states, steps, emails."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

DELIVERY_WORKFLOW_TYPE: Final = "DeliveryWorkflow"
DELIVERY_ID_PREFIX: Final = "delivery-"
DELIVERY_ID_PATTERN: Final = re.compile(
    r"^delivery-(?P<order>[A-Za-z0-9][A-Za-z0-9._-]{0,63})-(?P<n>\d+)$"
)

CARRIER_EVENT_SIGNAL: Final = "carrier_event"
RESOLVE_UPDATE: Final = "resolve"
STATUS_QUERY: Final = "status"
# The step an operator names to settle a delivery that needs a person (`oms resolve --step`).
DELIVERY_STEP: Final = "delivery"


def delivery_id(order_id: str, number: int) -> str:
    """The workflow id of the order's `number`-th parcel's delivery (1, 2, ...)."""
    return f"{DELIVERY_ID_PREFIX}{order_id}-{number}"


def parse_delivery_id(value: str) -> tuple[str, int] | None:
    match = DELIVERY_ID_PATTERN.fullmatch(value)
    return None if match is None else (match["order"], int(match["n"]))


class CarrierStatus(StrEnum):
    """What a carrier event says (the `status` of a `carrierEvent`)."""

    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    RETURNED_TO_SENDER = "RETURNED_TO_SENDER"


class DeliveryState(StrEnum):
    AWAITING_PICKUP = "AWAITING_PICKUP"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    LOST = "LOST"
    RETURNED_TO_SENDER = "RETURNED_TO_SENDER"


# How far along the way a state is: an event that would move a delivery back is late, ignored.
PROGRESS: Final[dict[str, int]] = {
    DeliveryState.AWAITING_PICKUP: 0,
    DeliveryState.IN_TRANSIT: 1,
    DeliveryState.OUT_FOR_DELIVERY: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.RETURNED_TO_SENDER: 4,
}


class ResolveAction(StrEnum):
    RESHIP = "reship"  # a new parcel, new tracking number, no new charge
    REFUND = "refund"  # the parcel's capture refunded


class DeliveryStep(StrEnum):
    """Steps a delivery records (`status --json` shows them with their time)."""

    CARRIER_EVENT = "carrier_event"
    NOTIFY = "notify_delivery"
    RESHIP = "reship_parcel"
    REFUND = "refund_parcel"
    RESTOCK = "restock_parcel"
    RESOLVE = DELIVERY_STEP


class DeliveryEmail(StrEnum):
    """The customer emails of a delivery: one each (the mailer dedupes per order and key)."""

    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    REVIEW_REQUEST = "REVIEW_REQUEST"
    EXCEPTION = "EXCEPTION"
    RESHIPPED = "RESHIPPED"
    REFUNDED = "REFUNDED"
    RETURNED = "RETURNED"


class DeliveryErrorType(StrEnum):
    REQUEST_REJECTED = "DeliveryRequestRejected"
