"""Inputs and results of the workflow, its handlers and activities: one model in, one model out.

These travel through Temporal with the pydantic data converter. They must stay safe to build
inside the workflow sandbox: no default factories that read the clock, randomness or env.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from oms.orders.contract import OrderState, SearchStatus
from oms.orders.models import OrderLine, OrderMessage, Text
from oms.process.wire import (
    CompensationResult,
    ResolveRequest,
    ResolveResponse,
    StepRecord,
    WireModel,
)

__all__ = ["CompensationResult", "ResolveRequest", "ResolveResponse", "StepRecord"]

# --- workflow -------------------------------------------------------------------------------


class OrderInput(WireModel):
    order: OrderMessage
    # When the message was put on the queue (SQS SentTimestamp), for end-to-end latency.
    enqueued_at: datetime | None = None
    # Set when `oms cancel` arrived before the order did: it ends CANCELLED at once.
    cancelled_before_start: str | None = None
    # How long a step that must finish may fail before the order is marked NEEDS_ATTENTION.
    attention_after_seconds: int = 300


class OrderStatus(WireModel):
    """The `status` query's answer and the workflow's result (`oms status --json` prints it)."""

    order_id: str
    state: OrderState
    step: str | None = None  # the step running now, if any
    steps: list[StepRecord] = Field(default_factory=list)
    reason: str | None = None  # failure code or cancellation reason
    tracking_number: str | None = None
    package_id: str | None = None
    cancel_requested: bool = False
    email_sent: bool = False
    attention: str | None = None  # why a person is needed, while one is
    search_status: SearchStatus | None = None


class CancelRequest(WireModel):
    reason: Text = "cancelled by request"


class CancelResponse(WireModel):
    accepted: bool
    state: OrderState
    message: str


# --- activities -----------------------------------------------------------------------------


class OrderRef(WireModel):
    """Input of the compensations: everything they need is in the order's ledger."""

    order_id: str


class ReserveInput(WireModel):
    order_id: str
    lines: list[OrderLine]


class ReserveResult(WireModel):
    already_reserved: bool = False


class AuthorizeInput(WireModel):
    order_id: str
    amount: Decimal
    currency: str
    method: str
    token: str = Field(repr=False)


class AuthorizeResult(WireModel):
    authorization_id: str


class CaptureInput(WireModel):
    order_id: str
    token: str = Field(repr=False)


class CaptureResult(WireModel):
    amount: Decimal


class RefundResult(WireModel):
    """The provider's answer to a refund: what it refunded under this key (0 when nothing)."""

    refunded: bool  # False: nothing (more) to refund, or this key was refunded before
    amount: Decimal
    detail: str | None = None


class PrepareInput(WireModel):
    order_id: str
    lines: list[OrderLine]


class PrepareResult(WireModel):
    package_id: str


class ParcelHandoff(WireModel):
    """What the carrier's hand-off passes on to the parcel's delivery (`oms.delivery`): the
    parcel's lines, what its capture took, whom to email. Absent in histories before deliveries
    were followed (their ship step hands nothing off)."""

    number: int = 1
    warehouse: str = "main"
    lines: list[OrderLine]
    currency: str
    captured: Decimal
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)


class ShipInput(WireModel):
    order_id: str
    package_id: str
    country: str
    handoff: ParcelHandoff | None = None


class ShipResult(WireModel):
    tracking_number: str


class NotifyInput(WireModel):
    order_id: str
    outcome: OrderState
    reason: str | None = None
    tracking_number: str | None = None
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)
    currency: str
    total_amount: Decimal
    lines: list[OrderLine]
