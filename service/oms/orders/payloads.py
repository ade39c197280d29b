"""Inputs and results of the workflow, its handlers and activities: one model in, one model out.

These travel through Temporal with the pydantic data converter. They must stay safe to build
inside the workflow sandbox: no default factories that read the clock, randomness or env.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from oms.orders.contract import OrderState, Step
from oms.orders.models import OrderLine, OrderMessage


class Payload(BaseModel):
    # camelCase aliases so the JSON the CLI prints (status --json) is the wire format too.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


# --- workflow -------------------------------------------------------------------------------


class OrderInput(Payload):
    order: OrderMessage
    # When the message was put on the queue (SQS SentTimestamp), for end-to-end latency.
    enqueued_at: datetime | None = None


class StepRecord(Payload):
    step: Step
    at: datetime
    detail: str | None = None


class OrderStatus(Payload):
    """What the `status` query returns (and `oms status --json` prints)."""

    order_id: str
    state: OrderState
    step: Step | None = None  # the step running now, if any
    steps: list[StepRecord] = Field(default_factory=list)
    reason: str | None = None  # failure code or cancellation reason
    tracking_number: str | None = None
    package_id: str | None = None
    cancel_requested: bool = False
    email_sent: bool = False


class OrderResult(Payload):
    order_id: str
    state: OrderState
    reason: str | None = None
    tracking_number: str | None = None
    steps: list[StepRecord] = Field(default_factory=list)


class CancelRequest(Payload):
    reason: str = Field("cancelled by request", min_length=1, max_length=200)


class CancelResponse(Payload):
    accepted: bool
    state: OrderState
    message: str


# --- activities -----------------------------------------------------------------------------


class ReserveInput(Payload):
    order_id: str
    lines: list[OrderLine]


class ReserveResult(Payload):
    order_id: str
    already_reserved: bool = False


class OrderRef(Payload):
    """Input of the compensations: everything they need is in the order's ledger."""

    order_id: str


class CompensationResult(Payload):
    # False when there was nothing to undo (the step never took effect).
    undone: bool
    detail: str | None = None


class ChargeInput(Payload):
    order_id: str
    amount: Decimal
    currency: str
    method: str
    token: str = Field(repr=False)


class ChargeResult(Payload):
    charge_id: str
    amount: Decimal
    currency: str


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
    message_id: str
    deduplicated: bool = False
