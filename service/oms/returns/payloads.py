"""Inputs and results of ReturnWorkflow, its handlers and activities: one model in, one out.

Safe to build inside the workflow sandbox (no default factories reading the clock or env). The
customer's name and email travel only in encrypted payloads, never in ids or logs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from oms.orders.models import Text
from oms.orders.records import ParcelLines
from oms.process.wire import StepRecord, WireModel
from oms.returns.contract import ReturnEvent, ReturnState


class ReturnLine(WireModel):
    sku: str
    quantity: int = Field(ge=0, le=999)
    unit_price: Decimal


class ReturnInput(WireModel):
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
    # What the workflow's first step holds against (absent in returns the client held itself,
    # before the hold moved into the workflow).
    request_id: str | None = None
    shipped: dict[str, int] = Field(default_factory=dict)  # units the order shipped, per SKU
    shipped_at: datetime | None = None
    attention_after_seconds: int = 300
    # The order's delivered parcels (units per SKU each), the only ones a return takes units
    # from; empty for an order shipped before its parcels were followed (counted as a whole).
    delivered: list[ParcelLines] = Field(default_factory=list)


class ReturnStatus(WireModel):
    """The `status` query's answer and the workflow's result (`oms return status --json`)."""

    return_id: str
    order_id: str
    state: ReturnState
    items: list[ReturnLine]
    accepted: list[ReturnLine] | None = None
    refund_amount: Decimal | None = None
    currency: str
    reason: str | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    parcel_due: datetime | None = None
    step: str | None = None  # the step running now, if any
    attention: str | None = None  # why a person is needed, while one is


class ReceiveRequest(WireModel):
    """The warehouse scan: accepted units per SKU; None accepts everything requested."""

    accepted: dict[str, int] | None = None


class CancelReturnRequest(WireModel):
    reason: Text = "cancelled by request"


class ReturnUpdateResponse(WireModel):
    accepted: bool
    state: ReturnState
    message: str


# --- activities -----------------------------------------------------------------------------


class HoldInput(WireModel):
    order_id: str
    number: int
    lines: dict[str, int]
    shipped: dict[str, int]
    shipped_at: datetime
    request_id: str | None = None
    delivered: list[ParcelLines] = Field(default_factory=list)


class ReturnRef(WireModel):
    order_id: str
    number: int


class RefundReturnInput(WireModel):
    order_id: str
    return_id: str
    amount: Decimal
    # The accepted lines and the return's number: refunded per parcel its units came from
    # (absent in returns that started before parcels: one refund of `amount`).
    number: int | None = None
    lines: list[ReturnLine] = Field(default_factory=list)


class RefundReturnResult(WireModel):
    amount: Decimal  # what was refunded (capped at captured minus earlier refunds)


class RestockInput(WireModel):
    order_id: str
    number: int
    accepted: dict[str, int]


class LedgerResult(WireModel):
    changed: bool
    detail: str | None = None

    @property
    def undone(self) -> bool:
        """As a compensation's answer (`release_return` undoes a hold)."""
        return self.changed


class ReturnNotifyInput(WireModel):
    order_id: str
    return_id: str
    event: ReturnEvent
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)
    lines: list[ReturnLine]
    currency: str
    amount: Decimal | None = None
    parcel_due: datetime | None = None
