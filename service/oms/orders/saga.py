"""The order saga as data: one typed row per step (`oms.process.steps.StepSpec`) drives
`OrderWorkflow` through the process core.

Each row is typed on its own, so mypy checks that `build` makes what `activity` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from oms.orders import policies, split
from oms.orders.activities.backorder import BackorderActivities
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.payment import PaymentActivities
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.backorder_wire import BackorderLine, BackorderPlaced, BackorderRef, BackorderRequest
from oms.orders.contract import ErrorType, FailureReason, OrderState, Step
from oms.orders.models import OrderMessage
from oms.orders.payloads import (
    AuthorizeInput,
    AuthorizeResult,
    CaptureInput,
    CaptureResult,
    OrderRef,
    ParcelHandoff,
    ParcelPlan,
    PrepareInput,
    PrepareResult,
    ReserveInput,
    ReserveResult,
    ShipInput,
    ShipResult,
)
from oms.process.steps import Compensation, StepSpec


@dataclass
class OrderContext:
    """What the builders read: the order, and what earlier steps produced for later ones."""

    order: OrderMessage
    package_id: str | None = None
    tracking_number: str | None = None
    # A split order's parcels (§6d), from the reservation; empty: one parcel, as before.
    parcels: list[ParcelPlan] = field(default_factory=list)
    # Backorders (§6f): the units the reservation owes, by supplier, and the purchase orders
    # that took them (SKU -> purchase order id); `since` (the order's start) queues it there.
    backorder: list[BackorderLine] = field(default_factory=list)
    purchase_orders: dict[str, str] = field(default_factory=dict)
    since: datetime | None = None


def _ref(context: OrderContext) -> OrderRef:
    return OrderRef(order_id=context.order.order_id)


def _undo(step: Step, activity: Any) -> Compensation[OrderContext]:
    return Compensation(step, activity, _ref, policies.MUST_FINISH)


def _keep_reservation(context: OrderContext, result: ReserveResult) -> None:
    context.parcels = result.parcels if len(result.parcels) > 1 else []
    context.backorder = result.backorder


def _package(context: OrderContext, result: PrepareResult) -> None:
    context.package_id = result.package_id


def _tracking(context: OrderContext, result: ShipResult) -> None:
    context.tracking_number = result.tracking_number


DECLINED: Final = {ErrorType.PAYMENT_DECLINED.value: FailureReason.PAYMENT_DECLINED}

RESERVE: Final[StepSpec[OrderContext, ReserveInput, ReserveResult]] = StepSpec(
    step=Step.RESERVE_INVENTORY,
    activity=InventoryActivities.reserve_inventory,
    build=lambda c: ReserveInput(order_id=c.order.order_id, lines=c.order.items),
    reaches=OrderState.RESERVED,
    options=policies.STEP,
    gives_up=FailureReason.INVENTORY_UNAVAILABLE,
    compensation=_undo(Step.RELEASE_INVENTORY, InventoryActivities.release_inventory),
    business={ErrorType.OUT_OF_STOCK.value: FailureReason.OUT_OF_STOCK},
    keep=_keep_reservation,
)

AUTHORIZE: Final[StepSpec[OrderContext, AuthorizeInput, AuthorizeResult]] = StepSpec(
    step=Step.AUTHORIZE_PAYMENT,
    activity=PaymentActivities.authorize_payment,
    build=lambda c: AuthorizeInput(
        order_id=c.order.order_id,
        amount=c.order.total_amount,
        currency=c.order.currency,
        method=c.order.payment.method,
        token=c.order.payment.token,
    ),
    reaches=OrderState.AUTHORIZED,
    options=policies.STEP,
    gives_up=FailureReason.PAYMENT_UNAVAILABLE,
    compensation=_undo(Step.VOID_PAYMENT, PaymentActivities.void_payment),
    business=DECLINED,
)

PREPARE: Final[StepSpec[OrderContext, PrepareInput, PrepareResult]] = StepSpec(
    step=Step.PREPARE_SHIPMENT,
    activity=ShippingActivities.prepare_shipment,
    build=lambda c: PrepareInput(order_id=c.order.order_id, lines=c.order.items, parcels=c.parcels),
    reaches=OrderState.PREPARED,
    options=policies.STEP,
    gives_up=FailureReason.SHIPMENT_FAILED,
    compensation=_undo(Step.CANCEL_SHIPMENT, ShippingActivities.cancel_shipment),
    keep=_package,
)

CAPTURE: Final[StepSpec[OrderContext, CaptureInput, CaptureResult]] = StepSpec(
    step=Step.CAPTURE_PAYMENT,
    activity=PaymentActivities.capture_payment,
    build=lambda c: CaptureInput(
        order_id=c.order.order_id,
        token=c.order.payment.token,
        shares_minor=split.shares_minor(c.order, c.parcels),
    ),
    reaches=OrderState.PAID,
    gives_up=FailureReason.PAYMENT_UNAVAILABLE,
    options=policies.MUST_FINISH,
    compensation=_undo(Step.REFUND_PAYMENT, PaymentActivities.refund_payment),
    business=DECLINED,
    must_finish=True,
)

SHIP: Final[StepSpec[OrderContext, ShipInput, ShipResult]] = StepSpec(
    step=Step.SHIP,
    activity=ShippingActivities.ship,
    build=lambda c: ShipInput(
        order_id=c.order.order_id,
        package_id=c.package_id or "",
        country=c.order.customer.address.country,
        handoff=None
        if c.parcels
        else ParcelHandoff(
            lines=c.order.items,
            currency=c.order.currency,
            captured=c.order.total_amount,
            customer_name=c.order.customer.name,
            email=str(c.order.customer.email),
        ),
        parcels=split.handoffs(c.order, c.parcels),
    ),
    reaches=OrderState.SHIPPED,
    gives_up=FailureReason.SHIPMENT_FAILED,
    options=policies.MUST_FINISH,
    must_finish=True,
    keep=_tracking,
)


def _joined(context: OrderContext, result: BackorderPlaced) -> None:
    context.purchase_orders = result.purchase_orders


def _backorder_request(context: OrderContext) -> BackorderRequest:
    if context.since is None:
        raise ValueError("the order's start time is unknown")  # a bug: `since` is set at init
    return BackorderRequest(
        order_id=context.order.order_id, lines=context.backorder, since=context.since
    )


# Not in STEPS: `oms.orders.backorder.BackorderGate` runs it after authorization, only for an
# order whose reservation owes units (so other orders' histories have no such command).
BACKORDER: Final[StepSpec[OrderContext, BackorderRequest, BackorderPlaced]] = StepSpec(
    step=Step.BACKORDER,
    activity=BackorderActivities.request_backorder,
    build=_backorder_request,
    reaches=OrderState.BACKORDERED,
    options=policies.STEP,
    gives_up=FailureReason.BACKORDER_FAILED,
    compensation=Compensation(
        Step.WITHDRAW_BACKORDER,
        BackorderActivities.withdraw_backorder,
        lambda c: BackorderRef(
            order_id=c.order.order_id, purchase_orders=c.purchase_orders, lines=c.backorder
        ),
        policies.MUST_FINISH,
    ),
    keep=_joined,
)

STEPS: Final[tuple[StepSpec[OrderContext, Any, Any], ...]] = (
    RESERVE,
    AUTHORIZE,
    PREPARE,
    CAPTURE,
    SHIP,
)
