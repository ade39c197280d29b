"""Inputs and results of DeliveryWorkflow, its handlers and activities: one model in, one out.

Safe to build inside the workflow sandbox. The customer's name and email travel only in
encrypted payloads, never in ids, search attributes or logs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from oms.delivery.contract import CarrierStatus, DeliveryEmail, DeliveryState, ResolveAction
from oms.process.wire import Note, StepRecord, WireModel


class ParcelLine(WireModel):
    sku: str
    quantity: int = Field(ge=1, le=999)
    unit_price: Decimal


class DeliveryInput(WireModel):
    order_id: str
    number: int  # the parcel's number within the order (1, 2, ...)
    warehouse: str = "main"
    tracking_number: str
    lines: list[ParcelLine]
    currency: str
    captured: Decimal  # what this parcel's capture took: what a refund gives back
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)
    # Settings (the workflow never reads env): OMS_REVIEW_REQUEST_DAYS, OMS_DELIVERY_SILENCE_DAYS.
    review_days: float = 7
    silence_days: float = 10
    attention_after_seconds: int = 300


class CarrierEvent(WireModel):
    """A carrier event as the delivery receives it (signal); `event_id` makes it idempotent."""

    event_id: str
    tracking_number: str
    status: CarrierStatus
    at: datetime


class DeliveryResolveRequest(WireModel):
    """`oms resolve ORDER_ID --step delivery --action reship|refund`, or a stuck step by name."""

    step: str
    note: Note
    action: ResolveAction | None = None


class DeliveryStatus(WireModel):
    """The `status` query's answer and the workflow's result (`parcels[].delivery`)."""

    delivery_id: str
    order_id: str
    number: int
    warehouse: str
    state: DeliveryState
    tracking_number: str
    lines: list[ParcelLine] = Field(default_factory=list)
    captured: Decimal | None = None
    events: list[CarrierEvent] = Field(default_factory=list)
    emails: list[DeliveryEmail] = Field(default_factory=list)
    steps: list[StepRecord] = Field(default_factory=list)
    refunded: Decimal | None = None
    finished: bool = False
    step: str | None = None
    attention: str | None = None


class DeliveryNotifyInput(WireModel):
    order_id: str
    delivery_id: str
    email_key: str  # unique per email of the delivery: the mailer sends each once
    event: DeliveryEmail
    tracking_number: str
    customer_name: str = Field(repr=False)
    email: str = Field(repr=False)
    lines: list[ParcelLine]
    currency: str
    amount: Decimal | None = None


class ParcelRefundInput(WireModel):
    order_id: str
    delivery_id: str
    amount: Decimal


class ParcelRefundResult(WireModel):
    amount: Decimal


class RestockInput(WireModel):
    order_id: str
    delivery_id: str
    warehouse: str
    lines: list[ParcelLine]


class RestockResult(WireModel):
    changed: bool


class ReshipInput(WireModel):
    order_id: str
    delivery_id: str
    attempt: int  # 1 for the first reship: the same attempt gives the same tracking number
    warehouse: str
    lines: list[ParcelLine]


class ReshipResult(WireModel):
    tracking_number: str
