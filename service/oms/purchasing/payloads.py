"""What travels through Temporal for purchase orders (camelCase on the wire)."""

from __future__ import annotations

from datetime import date, datetime

from oms.process.wire import StepRecord, WireModel
from oms.purchasing.contract import PurchaseOrderState, SupplierStatus


class PurchaseOrderInput(WireModel):
    purchase_order_id: str
    supplier: str
    sku: str
    collect_seconds: float  # demand collected this long before the order is placed
    confirm_seconds: float  # OMS_SUPPLIER_CONFIRM
    grace_seconds: float  # OMS_BACKORDER_GRACE, after the ETA
    attention_after_seconds: int = 300


class Demand(WireModel):
    """One order's shortfall of this SKU; `since` (the order's start) orders the queue."""

    order_id: str
    quantity: int
    since: datetime


class DemandAnswer(WireModel):
    accepted: bool  # False: this purchase order was placed already; join the next one
    purchase_order_id: str


class Withdrawal(WireModel):
    order_id: str


class SupplierEvent(WireModel):
    event_id: str
    status: SupplierStatus
    eta: date | None = None
    quantity: int | None = None


class PlaceInput(WireModel):
    purchase_order_id: str
    supplier: str
    sku: str
    quantity: int


class PlaceResult(WireModel):
    reference: str  # the supplier's id for the order


class Fill(WireModel):
    order_id: str
    quantity: int


class FillInput(WireModel):
    purchase_order_id: str
    sku: str
    fills: list[Fill]  # oldest first


class FillResult(WireModel):
    filled: list[str]  # order ids whose reservation is now complete
    gone: list[str]  # orders no longer waiting (cancelled or released meanwhile)


class LeftoverInput(WireModel):
    purchase_order_id: str
    sku: str
    quantity: int


class LeftoverResult(WireModel):
    added: int  # units added to available stock (0 when an earlier attempt did it)


class WaitingOrder(WireModel):
    order_id: str
    quantity: int
    since: datetime
    state: str  # WAITING, FILLED, WITHDRAWN, FAILED


class PurchaseOrderStatus(WireModel):
    purchase_order_id: str
    supplier: str
    sku: str
    state: PurchaseOrderState
    ordered: int
    received: int
    eta: date | None = None
    deadline: datetime | None = None
    reason: str | None = None
    orders: list[WaitingOrder]
    steps: list[StepRecord]
    attention: str | None = None
