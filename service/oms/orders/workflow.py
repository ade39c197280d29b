"""OrderWorkflow: runs the saga table (`oms.orders.saga.STEPS`), then tells the customer.

Every step that may have taken effect is compensated, in reverse, when the order is cancelled
or fails. Compensations are idempotent and safe when their step never took effect (they leave a
tombstone), so a step in flight when the order was cancelled is compensated too.

A cancellation through Temporal itself (UI, `temporal workflow cancel`) is treated like the
`cancel` update: the saga runs in its own task that Temporal's cancellation never interrupts, so
compensation and the email always run to the end, and once capture has started the order
finishes whatever arrives.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

with workflow.unsafe.imports_passed_through():
    # The email validator the order model loads lazily; pass it through, never re-imported.
    import email_validator  # noqa: F401

    from oms.orders import policies
    from oms.orders.activities.notification import NotificationActivities
    from oms.orders.contract import (
        CANCEL_SIGNAL,
        CANCEL_UPDATE,
        ORDER_STATUS_KEY,
        RESOLVE_UPDATE,
        STATUS_QUERY,
        ErrorType,
        OrderState,
        SearchStatus,
        Step,
    )
    from oms.orders.payloads import (
        CancelRequest,
        CancelResponse,
        NotifyInput,
        OrderInput,
        OrderRef,
        OrderStatus,
        ResolveRequest,
        ResolveResponse,
        StepRecord,
    )
    from oms.orders.saga import STEPS, Failure, Progress, StepSpec, failure_of

TEMPORAL_CANCEL = "cancellation requested in Temporal"


class _CancelledError(Exception):
    """An accepted cancellation interrupts the forward steps."""


class _StepFailedError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


@workflow.defn
class OrderWorkflow:
    STEPS = STEPS  # the saga table this workflow runs (a test variant swaps it)

    @workflow.init
    def __init__(self, request: OrderInput) -> None:
        self._order = request.order
        self._attention_after = timedelta(seconds=request.attention_after_seconds)
        self._state = OrderState.RECEIVED
        self._step: Step | None = None
        self._steps: list[StepRecord] = []
        self._progress = Progress()
        self._reason: str | None = None
        self._cancel_reason: str | None = request.cancelled_before_start
        self._no_return = False  # capture has started: cancellation is refused
        self._closing = False  # failing or cancelling: the outcome is decided
        self._email_sent = False
        self._attention: str | None = None
        self._search = SearchStatus.IN_PROGRESS
        self._resolved: dict[Step, str] = {}

    @workflow.run
    async def run(self, request: OrderInput) -> OrderStatus:
        saga = asyncio.create_task(self._saga())
        while True:
            try:
                return await asyncio.shield(saga)
            except asyncio.CancelledError:
                if saga.done():  # the worker evicted the workflow: every task was cancelled
                    raise
                # Temporal's cancellation becomes a cancel request; the saga decides.
                if self._cancel_refusal() is None:
                    self._cancel_reason = self._cancel_reason or TEMPORAL_CANCEL

    async def _saga(self) -> OrderStatus:
        started: list[StepSpec[Any, Any]] = []
        try:
            for spec in self.STEPS:
                await self._run_step(spec, started)
            self._finish(OrderState.COMPLETED, None)
        except _CancelledError:
            await self._compensate(started)
            self._finish(OrderState.CANCELLED, self._cancel_reason)
        except _StepFailedError as failed:
            await self._compensate(started)
            self._finish(OrderState.FAILED, failed.failure.reason)
        except Exception as unexpected:  # a bug must end in an outcome, not a wedged task
            # Deterministic, so a replay takes the same path; the person finds it by the reason.
            self._need_attention(f"unexpected error in the workflow: {type(unexpected).__name__}")
            await self._compensate(started)
            self._finish(OrderState.FAILED, (started[-1] if started else STEPS[0]).gives_up)
        await self._notify()
        self._publish()
        workflow.logger.info("order %s finished: %s", self._order.order_id, self._state)
        return self.status()

    async def _run_step(self, spec: StepSpec[Any, Any], started: list[StepSpec[Any, Any]]) -> None:
        self._raise_if_cancelled()
        if spec.must_finish:
            self._no_return = True  # from here on a cancellation is refused
        self._step = spec.step
        started.append(spec)
        argument = spec.build(self._order, self._progress)
        try:
            if spec.must_finish:
                result = await self._until_done(spec.step, spec.activity, argument, spec.options)
            else:
                handle = workflow.start_activity_method(
                    spec.activity, argument, **vars(spec.options)
                )
                await workflow.wait_condition(lambda: handle.done() or self._cancelling())
                if not handle.done():
                    handle.cancel()
                    await workflow.wait([handle])
                    raise _CancelledError
                result = await handle
        except ActivityError as error:
            failure = failure_of(spec, error)
            if not failure.took_effect:
                started.remove(spec)
            self._record(spec.step, f"failed: {failure.detail}")
            raise _StepFailedError(failure) from None
        finally:
            self._step = None
        spec.keep(self._progress, result)
        self._record(spec.step)
        self._state = spec.reaches
        self._details()

    async def _until_done(
        self, step: Step, activity: Any, argument: Any, options: policies.Options
    ) -> Any:
        """A step that must finish: retried forever. Past the attention window the order is
        marked NEEDS_ATTENTION while retries go on; an operator may settle it (`resolve`)."""
        try:
            return await workflow.execute_activity_method(
                activity, argument, **vars(options.within(self._attention_after))
            )
        except ActivityError as error:
            if not _timed_out(error):
                raise
            self._need_attention(f"{step} has been failing for {self._attention_after}")
        handle = workflow.start_activity_method(activity, argument, **vars(options))
        await workflow.wait_condition(lambda: handle.done() or step in self._resolved)
        if not handle.done():
            handle.cancel()
            self._attention = None
            self._details()
            return None  # settled by an operator; nothing more to wait for
        result = await handle
        self._attention = None
        self._details()
        return result

    async def _compensate(self, started: list[StepSpec[Any, Any]]) -> None:
        """Undo, in reverse, every step that may have taken effect; whatever happens, go on."""
        self._closing = True
        ref = OrderRef(order_id=self._order.order_id)
        for spec in reversed(started):
            undo = spec.compensation
            if undo is None:
                continue
            self._step = undo.step
            try:
                result = await self._until_done(undo.step, undo.activity, ref, policies.MUST_FINISH)
            except ActivityError as error:
                self._need_attention(f"{undo.step} could not undo {spec.step}: {_cause(error)}")
                self._record(undo.step, f"not undone: {_cause(error)}")
                continue
            if result is None:
                self._record(undo.step, f"settled by hand: {self._resolved[undo.step]}")
            elif result.undone:
                self._record(undo.step, result.detail)
        self._step = None

    async def _notify(self) -> None:
        order = self._order
        self._step = Step.NOTIFY_CUSTOMER
        request = NotifyInput(
            order_id=order.order_id,
            outcome=self._state,
            reason=self._reason,
            tracking_number=self._progress.tracking_number,
            customer_name=order.customer.name,
            email=str(order.customer.email),
            currency=order.currency,
            total_amount=order.total_amount,
            lines=order.items,
        )
        try:
            result = await self._until_done(
                Step.NOTIFY_CUSTOMER,
                NotificationActivities.notify_customer,
                request,
                policies.EMAIL,
            )
        except ActivityError as error:
            self._need_attention(f"the email could not be sent: {_cause(error)}")
            self._record(Step.NOTIFY_CUSTOMER, f"not sent: {_cause(error)}")
            return
        finally:
            self._step = None
        if result is None:
            self._record(
                Step.NOTIFY_CUSTOMER, f"settled by hand: {self._resolved[Step.NOTIFY_CUSTOMER]}"
            )
        elif result.rejected:
            self._record(Step.NOTIFY_CUSTOMER, f"not sent: {result.rejected}")
        else:
            self._email_sent = True
            self._record(Step.NOTIFY_CUSTOMER)

    # --- cancellation and resolution ------------------------------------------------------

    def _cancel_refusal(self) -> str | None:
        if self._cancel_reason is not None and not self._no_return:
            return None  # already cancelling: accepting again is harmless and idempotent
        if self._state.terminal or self._closing:
            return f"order is already {self._state.value if self._state.terminal else 'closing'}"
        if self._no_return:
            return "payment capture has started; the order can no longer be cancelled"
        return None

    def _cancelling(self) -> bool:
        return self._cancel_reason is not None and not self._no_return

    def _raise_if_cancelled(self) -> None:
        if self._cancelling():
            raise _CancelledError

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel_order(self, request: CancelRequest) -> None:
        refusal = self._cancel_refusal()
        if refusal is not None:
            workflow.logger.info("cancellation of %s ignored: %s", self._order.order_id, refusal)
            return
        self._cancel_reason = self._cancel_reason or request.reason

    @workflow.update(name=CANCEL_UPDATE)
    def cancel(self, request: CancelRequest) -> CancelResponse:
        self.cancel_order(request)
        return CancelResponse(
            accepted=True, state=self._state, message=f"cancelling: {self._cancel_reason}"
        )

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        refusal = self._cancel_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type=ErrorType.CANCEL_REJECTED, non_retryable=True)

    @workflow.update(name=RESOLVE_UPDATE)
    def resolve(self, request: ResolveRequest) -> ResolveResponse:
        self._resolved[request.step] = request.note
        return ResolveResponse(accepted=True, message=f"{request.step} settled by hand")

    @resolve.validator
    def _validate_resolve(self, request: ResolveRequest) -> None:
        if self._attention is None or self._step != request.step:
            running = self._step.value if self._step else "none"
            raise ApplicationError(
                f"nothing to resolve for {request.step}: only a step that needs attention can be "
                f"settled by hand (running: {running}, attention: {self._attention or 'none'})",
                type=ErrorType.CANCEL_REJECTED,
                non_retryable=True,
            )
        if request.step not in (
            Step.RELEASE_INVENTORY,
            Step.VOID_PAYMENT,
            Step.REFUND_PAYMENT,
            Step.CANCEL_SHIPMENT,
            Step.NOTIFY_CUSTOMER,
        ):
            raise ApplicationError(
                f"{request.step} moves goods or money forward; only compensations and the email "
                "can be settled by hand",
                type=ErrorType.CANCEL_REJECTED,
                non_retryable=True,
            )

    # --- status ---------------------------------------------------------------------------

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> OrderStatus:
        return OrderStatus(
            order_id=self._order.order_id,
            state=self._state,
            step=self._step,
            steps=list(self._steps),
            reason=self._reason,
            tracking_number=self._progress.tracking_number,
            package_id=self._progress.package_id,
            cancel_requested=self._cancel_reason is not None,
            email_sent=self._email_sent,
            attention=self._attention,
            search_status=self._search,
        )

    def _record(self, step: Step, detail: str | None = None) -> None:
        self._steps.append(StepRecord(step=step, at=workflow.now(), detail=detail))

    def _finish(self, state: OrderState, reason: str | None) -> None:
        self._reason = reason
        self._state = state
        self._details()

    def _need_attention(self, why: str) -> None:
        workflow.logger.warning("order %s needs attention: %s", self._order.order_id, why)
        self._attention = why
        self._details()
        if self._search != SearchStatus.NEEDS_ATTENTION:
            self._search = SearchStatus.NEEDS_ATTENTION
            workflow.upsert_search_attributes([ORDER_STATUS_KEY.value_set(self._search.value)])

    def _publish(self) -> None:
        """The one upsert of a healthy order: its outcome (or that it still needs a person)."""
        outcome = SearchStatus.NEEDS_ATTENTION if self._attention else SearchStatus(self._state)
        if outcome != self._search:
            self._search = outcome
            workflow.upsert_search_attributes([ORDER_STATUS_KEY.value_set(outcome.value)])

    def _details(self) -> None:
        """What the Temporal UI shows for the order (no personal data, no billable action)."""
        parts = [self._state.value, self._reason or "", self._attention or ""]
        workflow.set_current_details(" · ".join(p for p in parts if p))


def _timed_out(error: ActivityError) -> bool:
    """The attention window ran out: the server stops retrying when the next attempt would
    start after it (retry state TIMEOUT, the last failure as cause), or times the attempt out."""
    cause = error.cause
    return error.retry_state == RetryState.TIMEOUT or (
        isinstance(cause, TimeoutError) and cause.type == TimeoutType.SCHEDULE_TO_CLOSE
    )


def _cause(error: ActivityError) -> str:
    cause = error.cause
    return str(getattr(cause, "type", None) or type(cause).__name__)
