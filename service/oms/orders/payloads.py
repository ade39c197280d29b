"""Inputs and results of the workflow, its handlers and activities: one model in, one model out.

These travel through Temporal with the pydantic data converter. They must stay safe to build
inside the workflow sandbox: no default factories that read the clock, randomness or env.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from oms.orders.backorder_wire import BackorderLine
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
    # Review (§6g): orders above this total (minor units) wait IN_REVIEW for a person, at most
    # `review_timeout_seconds`. None (and in inputs of older builds): no review by amount.
    review_above: int | None = None
    review_timeout_seconds: int = 86400


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


class EditRequest(WireModel):
    """`oms edit`: new quantities of the order's lines (0 removes one), and why."""

    items: dict[str, Annotated[int, Field(ge=0, le=999)]] = Field(min_length=1)
    reason: Text


class EditResponse(WireModel):
    accepted: bool
    state: OrderState
    message: str
    total_amount: Decimal | None = None  # the new total, when accepted


class AdjustInput(WireModel):
    """Reserve or release the difference between two versions of an order's lines."""

    order_id: str
    revision: int  # the edit's number (1, 2, ...): applied once
    before: dict[str, int]
    after: dict[str, int]


class AdjustResult(WireModel):
    already_applied: bool = False


class ReauthorizeInput(WireModel):
    """Hold the edited total (the old hold voided): one new authorization per revision."""

    order_id: str
    revision: int
    amount: Decimal
    currency: str
    token: str = Field(repr=False)


class ReviewRequest(WireModel):
    """A person's decision on an order held IN_REVIEW (`oms review approve|reject`)."""

    approve: bool
    note: Text


class ReviewResponse(WireModel):
    accepted: bool
    state: OrderState
    message: str


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


class ParcelPlan(WireModel):
    """One parcel of an order (§6d): the units its warehouse sends."""

    number: int
    warehouse: str
    lines: dict[str, int]


class ReserveResult(WireModel):
    already_reserved: bool = False
    # One per warehouse when the order is split; empty: one parcel from `main` (and in results
    # of older builds).
    parcels: list[ParcelPlan] = Field(default_factory=list)
    # Lines short of stock whose SKU has a supplier: reserved in part, the rest backordered.
    backorder: list[BackorderLine] = Field(default_factory=list)


class AuthorizeInput(WireModel):
    order_id: str
    amount: Decimal
    currency: str
    method: str
    token: str = Field(repr=False)


class AuthorizeResult(WireModel):
    authorization_id: str
    # What the provider holds, in the currency's minor units (0 in payloads of older builds).
    amount_minor: int = 0
    review: bool = False  # the provider's risk check asks for a manual review (§6g)


class CaptureInput(WireModel):
    order_id: str
    token: str = Field(repr=False)
    # A split order (§6d): each parcel's share in minor units, captured one by one (they add up
    # to the authorization). Empty: one capture of the whole hold, as before parcels.
    shares_minor: list[int] = Field(default_factory=list)


class CaptureResult(WireModel):
    amount: Decimal
    amount_minor: int = 0  # what was captured, in minor units (0 in older payloads)
    renewed: bool = False  # the hold had expired: it was voided and authorized anew first


class RefundResult(WireModel):
    """The provider's answer to a refund: what it refunded under this key (0 when nothing)."""

    refunded: bool  # False: nothing (more) to refund, or this key was refunded before
    amount: Decimal
    detail: str | None = None
    amount_minor: int = 0  # `amount` in minor units


class PrepareInput(WireModel):
    order_id: str
    lines: list[OrderLine]
    parcels: list[ParcelPlan] = Field(default_factory=list)  # a split order: one package each


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
    # A split order: one hand-off per parcel (then `handoff` is None).
    parcels: list[ParcelHandoff] = Field(default_factory=list)


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
    # The email's event when it is not the outcome (an edit's summary: "edit-<n>"), the key
    # that sends it once.
    event: str | None = None
    eta: date | None = None  # a backordered order's expected delivery (§6f)
