"""Inputs and results of the workflow, its handlers and activities: one model in, one model out.

These travel through Temporal with the pydantic data converter. They must stay safe to build
inside the workflow sandbox: no default factories that read the clock, randomness or env.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from oms.orders.contract import OrderState, SearchStatus, Step
from oms.orders.models import OrderLine, OrderMessage, Text

# --- workflow -------------------------------------------------------------------------------


class Payload(BaseModel):
    # camelCase aliases so the JSON the CLI prints (status --json) is the wire format too.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class OrderInput(Payload):
    order: OrderMessage
    # When the message was put on the queue (SQS SentTimestamp), for end-to-end latency.
    enqueued_at: datetime | None = None
    # Set when `oms cancel` arrived before the order did: it ends CANCELLED at once.
    cancelled_before_start: str | None = None
    # How long a step that must finish may fail before the order is marked NEEDS_ATTENTION.
    attention_after_seconds: int = 300


class StepRecord(Payload):
    step: Step
    at: datetime
    detail: str | None = None


class OrderStatus(Payload):
    """The `status` query's answer and the workflow's result (`oms status --json` prints it)."""

    order_id: str
    state: OrderState
    step: Step | None = None  # the step running now, if any
    steps: list[StepRecord] = Field(default_factory=list)
    reason: str | None = None  # failure code or cancellation reason
    tracking_number: str | None = None
    package_id: str | None = None
    cancel_requested: bool = False
    email_sent: bool = False
    attention: str | None = None  # why a person is needed, while one is
    search_status: SearchStatus | None = None


class CancelRequest(Payload):
    reason: Text = "cancelled by request"


class CancelResponse(Payload):
    accepted: bool
    state: OrderState
    message: str


class ResolveRequest(Payload):
    """An operator settles a stuck compensation (or the email) by hand."""

    step: Step
    note: Text


class ResolveResponse(Payload):
    accepted: bool
    message: str


# --- activities -----------------------------------------------------------------------------


class OrderRef(Payload):
    """Input of the compensations: everything they need is in the order's ledger."""

    order_id: str


class CompensationResult(Payload):
    # False when there was nothing to undo (the step never took effect).
    undone: bool
    detail: str | None = None


class ReserveInput(Payload):
    order_id: str
    lines: list[OrderLine]


class ReserveResult(Payload):
    already_reserved: bool = False


class AuthorizeInput(Payload):
    order_id: str
    amount: Decimal
    currency: str
    method: str
    token: str = Field(repr=False)


class AuthorizeResult(Payload):
    authorization_id: str


class CaptureInput(Payload):
    order_id: str
    token: str = Field(repr=False)


class CaptureResult(Payload):
    amount: Decimal


class PrepareInput(Payload):
    order_id: str
    lines: list[OrderLine]


class PrepareResult(Payload):
    package_id: str


class ShipInput(Payload):
    order_id: str
    package_id: str
    country: str


class ShipResult(Payload):
    tracking_number: str


class NotifyInput(Payload):
    order_id: str
    outcome: OrderState
    reason: str | None = None
    tracking_number: str | None = None
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)
    currency: str
    total_amount: Decimal
    lines: list[OrderLine]


class NotifyResult(Payload):
    message_id: str | None = None
    deduplicated: bool = False
    # SES refused the address for good: recorded, never retried.
    rejected: str | None = None
