"""Inputs and results of the subscription workflow, its handlers and activities.

Safe to build inside the workflow sandbox: no default factory reads the clock or randomness.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from oms.orders.models import OrderLine
from oms.process.wire import Note, StepRecord, WireModel
from oms.subscriptions.contract import SubscriptionEvent, SubscriptionState
from oms.subscriptions.models import SubscriptionMessage

MAX_ORDERS_SHOWN = 24  # the orders a status carries across continue-as-new (newest)


class CycleOrder(WireModel):
    order_id: str
    cycle: int
    state: str  # the order's outcome, or SKIPPED
    reason: str | None = None


class Dunning(WireModel):
    """A declined renewal being retried: which retry is next, and when."""

    cycle: int
    retries: int = 0  # retries placed so far (0..3)
    next_retry_at: datetime | None = None


class Carry(WireModel):
    """What one run hands the next at continue-as-new (and what the first run starts from)."""

    cycle: int = 1  # the cycle this run charges
    anchor: datetime | None = None  # charges are counted from here (None: the first charge)
    anchor_cycle: int = 1  # the cycle charged at the anchor
    state: SubscriptionState = SubscriptionState.ACTIVE
    skip_next: bool = False
    reminded: bool = False  # this cycle's reminder went out
    orders: list[CycleOrder] = Field(default_factory=list)
    dunning: Dunning | None = None


class SubscriptionInput(WireModel):
    message: SubscriptionMessage  # with the changed lines and the latest token
    carry: Carry = Carry()
    reminder_seconds: int = 3 * 86400  # OMS_SUBSCRIPTION_REMINDER
    attention_after_seconds: int = 300
    task_queue: str | None = None  # where the cycle orders run (None: the subscription's)


class SubscriptionStatus(WireModel):
    """The `status` query's answer and the workflow's result (`status --json`)."""

    subscription_id: str
    state: SubscriptionState
    cycle: int
    cycles: int | None = None
    interval: str
    next_charge_at: datetime | None = None
    skip_next: bool = False
    items: list[OrderLine]
    currency: str
    orders: list[CycleOrder] = Field(default_factory=list)
    dunning: Dunning | None = None
    reason: str | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    attention: str | None = None


class PauseRequest(WireModel):
    reason: Note = "paused by request"


class ResumeRequest(WireModel):
    token: str | None = Field(default=None, min_length=1, max_length=128, repr=False)


class SkipRequest(WireModel):
    reason: Note = "skipped by request"


class ChangeRequest(WireModel):
    items: dict[str, int]  # SKU -> units (0 removes the line)


class CancelSubscriptionRequest(WireModel):
    reason: Note = "cancelled by request"


class SubscriptionUpdateResponse(WireModel):
    accepted: bool
    state: SubscriptionState
    message: str


class SubscriptionNotifyInput(WireModel):
    subscription_id: str
    event: SubscriptionEvent
    key: str  # once per key (the cycle, the retry)
    cycle: int
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)
    lines: list[OrderLine]
    currency: str
    charge_at: datetime | None = None  # the charge the email announces
