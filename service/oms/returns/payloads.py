"""Inputs and results of ReturnWorkflow, its handlers and activities: one model in, one out.

Safe to build inside the workflow sandbox (no default factories reading the clock or env). The
customer's name and email travel only in encrypted payloads, never in ids or logs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from oms.orders.models import Text
from oms.orders.payloads import Payload
from oms.returns.contract import ReturnEvent, ReturnState, ReturnStep


class ReturnLine(Payload):
    sku: str
    quantity: int = Field(ge=0, le=999)
    unit_price: Decimal


class ReturnInput(Payload):
    return_id: str
    order_id: str
    number: int
    lines: list[ReturnLine]  # what the customer sends back, at the order's prices
    currency: str
    reason: Text
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)
    # How long to wait for the parcel (OMS_RETURN_PARCEL_DAYS); the workflow never reads env.
    parcel_days: int = 14


class ReturnStepRecord(Payload):
    step: ReturnStep
    at: datetime
    detail: str | None = None


class ReturnStatus(Payload):
    """The `status` query's answer and the workflow's result (`oms return status --json`)."""

    return_id: str
    order_id: str
    state: ReturnState
    items: list[ReturnLine]
    accepted: list[ReturnLine] | None = None
    refund_amount: Decimal | None = None
    currency: str
    reason: str | None = None
    steps: list[ReturnStepRecord] = Field(default_factory=list)
    parcel_due: datetime | None = None


class ReceiveRequest(Payload):
    """The warehouse scan: accepted units per SKU; None accepts everything requested."""

    accepted: dict[str, int] | None = None


class CancelReturnRequest(Payload):
    reason: Text = "cancelled by request"


class ReturnUpdateResponse(Payload):
    accepted: bool
    state: ReturnState
    message: str


# --- activities -----------------------------------------------------------------------------


class ReturnRef(Payload):
    order_id: str
    number: int


class RefundReturnInput(Payload):
    order_id: str
    return_id: str
    amount: Decimal


class RefundReturnResult(Payload):
    amount: Decimal  # what was refunded (capped at captured minus earlier refunds)


class RestockInput(Payload):
    order_id: str
    number: int
    accepted: dict[str, int]


class LedgerResult(Payload):
    changed: bool
    detail: str | None = None


class ReturnNotifyInput(Payload):
    order_id: str
    return_id: str
    event: ReturnEvent
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)
    lines: list[ReturnLine]
    currency: str
    amount: Decimal | None = None
    parcel_due: datetime | None = None
