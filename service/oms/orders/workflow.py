"""OrderWorkflow: reserve inventory → charge payment → prepare shipment → ship → notify.

A saga: every step that may have taken effect is compensated, in reverse, when the order is
cancelled or fails. Compensations are idempotent and safe when their step never took effect
(they leave a tombstone), so a step that was in flight when the order was cancelled is
compensated too, and a late attempt of it cannot take effect afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # The email validator the order model loads lazily; pass it through, never re-imported.
    import email_validator  # noqa: F401

    from oms.orders import policies
    from oms.orders.activities.inventory import InventoryActivities
    from oms.orders.activities.notification import NotificationActivities
    from oms.orders.activities.payment import PaymentActivities
    from oms.orders.activities.shipping import ShippingActivities
    from oms.orders.contract import (
        CANCEL_SIGNAL,
        CANCEL_UPDATE,
        ORDER_STATUS_KEY,
        STATUS_QUERY,
        ErrorType,
        FailureReason,
        OrderState,
        Step,
    )
    from oms.orders.payloads import (
        CancelRequest,
        CancelResponse,
        ChargeInput,
        CompensationResult,
        NotifyInput,
        OrderInput,
        OrderRef,
        OrderResult,
        OrderStatus,
        PrepareInput,
        ReserveInput,
        ShipInput,
        StepRecord,
    )

T = TypeVar("T")

# What undoes each step, in the order the steps run.
COMPENSATIONS: dict[Step, Callable[..., Any]] = {
    Step.RESERVE_INVENTORY: InventoryActivities.release_inventory,
    Step.CHARGE_PAYMENT: PaymentActivities.refund_payment,
    Step.PREPARE_SHIPMENT: ShippingActivities.cancel_shipment,
}
UNDO_STEP = {
    Step.RESERVE_INVENTORY: Step.RELEASE_INVENTORY,
    Step.CHARGE_PAYMENT: Step.REFUND_PAYMENT,
    Step.PREPARE_SHIPMENT: Step.CANCEL_SHIPMENT,
}
# Reason code when a step gives up after its retry budget (an outage, not a business answer).
UNAVAILABLE = {
    Step.RESERVE_INVENTORY: FailureReason.INVENTORY_UNAVAILABLE,
    Step.CHARGE_PAYMENT: FailureReason.PAYMENT_UNAVAILABLE,
    Step.PREPARE_SHIPMENT: FailureReason.SHIPMENT_FAILED,
}
BUSINESS_FAILURES = {
    ErrorType.OUT_OF_STOCK: FailureReason.OUT_OF_STOCK,
    ErrorType.PAYMENT_DECLINED: FailureReason.PAYMENT_DECLINED,
}


class OrderCancelledError(Exception):
    """Raised inside the workflow when a cancellation was accepted."""


class StepFailedError(Exception):
    def __init__(self, step: Step, reason: str, *, took_effect: bool) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason
        # False when the step answered with a business error: it certainly did nothing.
        self.took_effect = took_effect


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, request: OrderInput) -> None:
        self._order = request.order
        self._state = OrderState.RECEIVED
        self._step: Step | None = None
        self._steps: list[StepRecord] = []
        self._started: list[Step] = []  # steps that may have taken effect
        self._reason: str | None = None
        self._cancel_reason: str | None = None
        self._shipping = False  # the point of no return
        self._closing = False  # failing or cancelling: the outcome is decided
        self._tracking_number: str | None = None
        self._package_id: str | None = None
        self._email_sent = False

    @workflow.run
    async def run(self, request: OrderInput) -> OrderResult:
        order = request.order
        self._set_state(OrderState.RECEIVED)
        try:
            await self._fulfil()
        except OrderCancelledError:
            await self._compensate()
            self._finish(OrderState.CANCELLED, self._cancel_reason)
        except StepFailedError as failure:
            if not failure.took_effect:
                self._started.remove(failure.step)
            await self._compensate()
            self._finish(OrderState.FAILED, failure.reason)
        except asyncio.CancelledError:
            # Cancelled through Temporal itself (UI/CLI): the same saga, unless already shipping.
            if self._shipping:
                raise
            self._cancel_reason = "workflow cancellation requested"
            await self._compensate()
            self._finish(OrderState.CANCELLED, self._cancel_reason)
        await self._notify()
        workflow.logger.info("order %s finished: %s", order.order_id, self._state)
        return OrderResult(
            order_id=order.order_id,
            state=self._state,
            reason=self._reason,
            tracking_number=self._tracking_number,
            steps=self._steps,
        )

    async def _fulfil(self) -> None:
        order = self._order
        await self._run_step(
            Step.RESERVE_INVENTORY,
            InventoryActivities.reserve_inventory,
            ReserveInput(order_id=order.order_id, lines=order.items),
        )
        self._set_state(OrderState.RESERVED)
        await self._run_step(
            Step.CHARGE_PAYMENT,
            PaymentActivities.charge_payment,
            ChargeInput(
                order_id=order.order_id,
                amount=order.total_amount,
                currency=order.currency,
                method=order.payment.method,
                token=order.payment.token,
            ),
        )
        self._set_state(OrderState.PAID)
        prepared = await self._run_step(
            Step.PREPARE_SHIPMENT,
            ShippingActivities.prepare_shipment,
            PrepareInput(order_id=order.order_id, lines=order.items),
        )
        self._package_id = prepared.package_id
        self._set_state(OrderState.PREPARED)
        self._raise_if_cancelled()
        self._shipping = True  # from here on a cancellation is rejected
        shipped = await self._run_step(
            Step.SHIP,
            ShippingActivities.ship,
            ShipInput(
                order_id=order.order_id,
                package_id=prepared.package_id,
                country=order.customer.address.country,
            ),
            options=policies.MUST_FINISH,
        )
        self._tracking_number = shipped.tracking_number
        self._set_state(OrderState.SHIPPED)
        self._finish(OrderState.COMPLETED, None)

    async def _run_step(
        self,
        step: Step,
        activity: Callable[[Any, Any], T],
        argument: Any,
        *,
        options: dict[str, Any] = policies.STEP,
    ) -> T:
        """Run one step; a cancellation accepted while it runs interrupts the wait at once."""
        self._raise_if_cancelled()
        self._step = step
        self._started.append(step)
        handle = workflow.start_activity_method(activity, argument, **options)
        await workflow.wait_condition(
            lambda: handle.done() or (self._cancel_reason is not None and not self._shipping)
        )
        if not handle.done():
            handle.cancel()
            await workflow.wait([handle])
            raise OrderCancelledError
        try:
            result = await handle
        except ActivityError as error:
            raise self._step_failure(step, error) from error
        finally:
            self._step = None
        self._record(step)
        return result

    def _step_failure(self, step: Step, error: ActivityError) -> StepFailedError:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.non_retryable:
            business = BUSINESS_FAILURES.get(ErrorType(cause.type)) if cause.type else None
            if business is not None:
                return StepFailedError(step, business, took_effect=False)
        return StepFailedError(step, UNAVAILABLE[step], took_effect=True)

    async def _compensate(self) -> None:
        """Undo, in reverse, every step that may have taken effect."""
        self._closing = True
        for step in reversed(self._started):
            compensation = COMPENSATIONS.get(step)
            if compensation is None:
                continue
            self._step = UNDO_STEP[step]
            result: CompensationResult = await workflow.execute_activity_method(
                compensation, OrderRef(order_id=self._order.order_id), **policies.MUST_FINISH
            )
            if result.undone:
                self._record(UNDO_STEP[step], result.detail)
        self._step = None

    async def _notify(self) -> None:
        order = self._order
        self._step = Step.NOTIFY_CUSTOMER
        await workflow.execute_activity_method(
            NotificationActivities.notify_customer,
            NotifyInput(
                order_id=order.order_id,
                outcome=self._state,
                reason=self._reason,
                tracking_number=self._tracking_number,
                customer_name=order.customer.name,
                email=str(order.customer.email),
                currency=order.currency,
                total_amount=order.total_amount,
                lines=order.items,
            ),
            **policies.EMAIL,
        )
        self._step = None
        self._email_sent = True
        self._record(Step.NOTIFY_CUSTOMER)

    # --- cancellation ---------------------------------------------------------------------

    def _cancel_refusal(self) -> str | None:
        if self._cancel_reason is not None:
            return None  # already cancelling: accepting again is harmless and idempotent
        if self._state.terminal or self._closing:
            return f"order is already {self._state.value if self._state.terminal else 'failing'}"
        if self._shipping:
            return "order is shipping; it can no longer be cancelled"
        return None

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel_order(self, reason: str) -> None:
        refusal = self._cancel_refusal()
        if refusal is not None:
            workflow.logger.warning("cancellation of %s ignored: %s", self._order.order_id, refusal)
            return
        self._cancel_reason = self._cancel_reason or reason or "cancelled by request"

    @workflow.update(name=CANCEL_UPDATE)
    def cancel(self, request: CancelRequest) -> CancelResponse:
        self.cancel_order(request.reason)
        return CancelResponse(
            accepted=True, state=self._state, message=f"cancelling: {self._cancel_reason}"
        )

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        refusal = self._cancel_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type="CancelRejected", non_retryable=True)

    def _raise_if_cancelled(self) -> None:
        if self._cancel_reason is not None and not self._shipping:
            raise OrderCancelledError

    # --- status ---------------------------------------------------------------------------

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> OrderStatus:
        return OrderStatus(
            order_id=self._order.order_id,
            state=self._state,
            step=self._step,
            steps=list(self._steps),
            reason=self._reason,
            tracking_number=self._tracking_number,
            package_id=self._package_id,
            cancel_requested=self._cancel_reason is not None,
            email_sent=self._email_sent,
        )

    def _record(self, step: Step, detail: str | None = None) -> None:
        self._steps.append(StepRecord(step=step, at=workflow.now(), detail=detail))

    def _finish(self, state: OrderState, reason: str | None) -> None:
        self._reason = reason
        self._set_state(state)

    def _set_state(self, state: OrderState) -> None:
        self._state = state
        current = workflow.info().typed_search_attributes.get(ORDER_STATUS_KEY)
        if current != state.value:
            workflow.upsert_search_attributes([ORDER_STATUS_KEY.value_set(state.value)])
