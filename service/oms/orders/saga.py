"""The order saga as data: one typed row per step drives `OrderWorkflow`.

Each row names the activity, how its input is built from the order, its options, the state the
order reaches, its compensation, the reason the order fails with when the step gives up, the
business errors that fail it without effect, and whether it is past the point of no return
(cancellation refused, must finish). `failure_of` maps every error of every step to an outcome,
so an unknown error type can never escape as an exception in workflow code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

from temporalio.exceptions import ActivityError, ApplicationError

from oms.orders import policies
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.payment import PaymentActivities
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.contract import ErrorType, FailureReason, OrderState, Step
from oms.orders.models import OrderMessage
from oms.orders.payloads import (
    AuthorizeInput,
    AuthorizeResult,
    CaptureInput,
    CaptureResult,
    CompensationResult,
    OrderRef,
    PrepareInput,
    PrepareResult,
    ReserveInput,
    ReserveResult,
    ShipInput,
    ShipResult,
)

I = TypeVar("I")  # noqa: E741 - the conventional name of an input type variable
O = TypeVar("O")  # noqa: E741


@dataclass
class Progress:
    """What earlier steps produced that later steps need."""

    package_id: str | None = None
    tracking_number: str | None = None


@dataclass(frozen=True)
class Compensation:
    step: Step
    activity: Callable[[Any, OrderRef], CompensationResult]


@dataclass(frozen=True)
class StepSpec(Generic[I, O]):
    step: Step
    activity: Callable[[Any, I], O]
    build: Callable[[OrderMessage, Progress], I]
    reaches: OrderState
    gives_up: FailureReason
    options: policies.Options = policies.STEP
    compensation: Compensation | None = None
    business: Mapping[str, FailureReason] = field(default_factory=dict)
    # From this step on a cancellation is refused and the step retries until it succeeds.
    must_finish: bool = False
    keep: Callable[[Progress, O], None] = lambda _progress, _result: None


@dataclass(frozen=True)
class Failure:
    reason: FailureReason
    took_effect: bool  # False when the step answered with a business "no": it did nothing
    detail: str


def failure_of(spec: StepSpec[Any, Any], error: ActivityError) -> Failure:
    """The one mapping from a failed step to the order's outcome."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable and cause.type:
        reason = spec.business.get(cause.type)
        if reason is not None:
            return Failure(reason, took_effect=False, detail=cause.message)
    detail = getattr(cause, "type", None) or type(cause).__name__
    return Failure(spec.gives_up, took_effect=True, detail=f"{spec.step} failed: {detail}")


def _package(progress: Progress, result: PrepareResult) -> None:
    progress.package_id = result.package_id


def _tracking(progress: Progress, result: ShipResult) -> None:
    progress.tracking_number = result.tracking_number


def _package_id(progress: Progress) -> str:
    return progress.package_id or ""


DECLINED: Final = {ErrorType.PAYMENT_DECLINED.value: FailureReason.PAYMENT_DECLINED}

# Each row is typed on its own, so mypy checks that `build` makes what `activity` takes.

RESERVE: Final[StepSpec[ReserveInput, ReserveResult]] = StepSpec(
    step=Step.RESERVE_INVENTORY,
    activity=InventoryActivities.reserve_inventory,
    build=lambda order, _: ReserveInput(order_id=order.order_id, lines=order.items),
    reaches=OrderState.RESERVED,
    gives_up=FailureReason.INVENTORY_UNAVAILABLE,
    compensation=Compensation(Step.RELEASE_INVENTORY, InventoryActivities.release_inventory),
    business={ErrorType.OUT_OF_STOCK.value: FailureReason.OUT_OF_STOCK},
)

AUTHORIZE: Final[StepSpec[AuthorizeInput, AuthorizeResult]] = StepSpec(
    step=Step.AUTHORIZE_PAYMENT,
    activity=PaymentActivities.authorize_payment,
    build=lambda order, _: AuthorizeInput(
        order_id=order.order_id,
        amount=order.total_amount,
        currency=order.currency,
        method=order.payment.method,
        token=order.payment.token,
    ),
    reaches=OrderState.AUTHORIZED,
    gives_up=FailureReason.PAYMENT_UNAVAILABLE,
    compensation=Compensation(Step.VOID_PAYMENT, PaymentActivities.void_payment),
    business=DECLINED,
)

PREPARE: Final[StepSpec[PrepareInput, PrepareResult]] = StepSpec(
    step=Step.PREPARE_SHIPMENT,
    activity=ShippingActivities.prepare_shipment,
    build=lambda order, _: PrepareInput(order_id=order.order_id, lines=order.items),
    reaches=OrderState.PREPARED,
    gives_up=FailureReason.SHIPMENT_FAILED,
    compensation=Compensation(Step.CANCEL_SHIPMENT, ShippingActivities.cancel_shipment),
    keep=_package,
)

CAPTURE: Final[StepSpec[CaptureInput, CaptureResult]] = StepSpec(
    step=Step.CAPTURE_PAYMENT,
    activity=PaymentActivities.capture_payment,
    build=lambda order, _: CaptureInput(order_id=order.order_id, token=order.payment.token),
    reaches=OrderState.PAID,
    gives_up=FailureReason.PAYMENT_UNAVAILABLE,
    options=policies.MUST_FINISH,
    compensation=Compensation(Step.REFUND_PAYMENT, PaymentActivities.refund_payment),
    business=DECLINED,
    must_finish=True,
)

SHIP: Final[StepSpec[ShipInput, ShipResult]] = StepSpec(
    step=Step.SHIP,
    activity=ShippingActivities.ship,
    build=lambda order, progress: ShipInput(
        order_id=order.order_id,
        package_id=_package_id(progress),
        country=order.customer.address.country,
    ),
    reaches=OrderState.SHIPPED,
    gives_up=FailureReason.SHIPMENT_FAILED,
    options=policies.MUST_FINISH,
    must_finish=True,
    keep=_tracking,
)

STEPS: Final[tuple[StepSpec[Any, Any], ...]] = (RESERVE, AUTHORIZE, PREPARE, CAPTURE, SHIP)
