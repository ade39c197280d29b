"""OrderWorkflow: the order saga (`oms.orders.saga.STEPS`) on the process core, then the email.

Every step that may have taken effect is compensated, in reverse, when the order is cancelled or
fails; compensations are idempotent and leave a tombstone when their step never took effect, so
a step still running when the order was cancelled is compensated too, and its late answer
changes nothing. Temporal's own cancellation (UI, `temporal workflow cancel`) is a cancel request
like the `cancel` update; once capture has started the order finishes whatever arrives.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    # The email validator the order model loads lazily; pass it through, never re-imported.
    import email_validator  # noqa: F401

    from oms.mail.mailer import NotifyResult
    from oms.orders import policies
    from oms.orders.activities.notification import NotificationActivities
    from oms.orders.backorder import BackorderGate
    from oms.orders.backorder_wire import BackorderNews
    from oms.orders.contract import (
        BACKORDER_SIGNAL,
        BACKORDERED_EMAIL,
        CANCEL_SIGNAL,
        CANCEL_UPDATE,
        EDIT_UPDATE,
        ORDER_STATUS_KEY,
        RESOLVE_UPDATE,
        REVIEW_UPDATE,
        STATUS_QUERY,
        ErrorType,
        OrderState,
        SearchStatus,
        Step,
    )
    from oms.orders.edit import EditRefusedError, Revisions, edited
    from oms.orders.payloads import (
        AuthorizeResult,
        CancelRequest,
        CancelResponse,
        EditRequest,
        EditResponse,
        NotifyInput,
        OrderInput,
        OrderStatus,
        ResolveRequest,
        ResolveResponse,
        ReviewRequest,
        ReviewResponse,
    )
    from oms.orders.review import ReviewGate
    from oms.orders.saga import STEPS, OrderContext
    from oms.process.runtime import (
        BUGS,
        CancelledError,
        Process,
        StepFailedError,
        signal_guard,
        update_guard,
    )
    from oms.process.steps import StepSpec

# What an operator may settle by hand: the compensations and the email (never a forward step).
RESOLVABLE = (
    Step.RELEASE_INVENTORY,
    Step.VOID_PAYMENT,
    Step.REFUND_PAYMENT,
    Step.CANCEL_SHIPMENT,
    Step.WITHDRAW_BACKORDER,
    Step.NOTIFY_CUSTOMER,
)


@workflow.defn(failure_exception_types=BUGS)
class OrderWorkflow:
    STEPS = STEPS  # the saga table this workflow runs (a test variant swaps it)

    @workflow.init
    def __init__(self, request: OrderInput) -> None:
        self._order = request.order
        self._state = OrderState.RECEIVED
        self._reason: str | None = None
        self._email_sent = False  # a message went out
        self._emailed = False  # the email step is over (sent, refused, settled, or skipped)
        self.process = Process(
            subject=f"order {request.order.order_id}",
            # The order's start queues its backorders (oldest first); no command.
            context=OrderContext(order=request.order, since=workflow.info().workflow_start_time),
            attention_after=timedelta(seconds=request.attention_after_seconds),
            resolvable=RESOLVABLE,
            search_key=ORDER_STATUS_KEY,
            search_value=SearchStatus.IN_PROGRESS.value,  # set at start by the starter
            describe=lambda: [self._state.value, self._reason or ""],
        )
        self._review = ReviewGate(
            above=request.review_above, timeout=timedelta(seconds=request.review_timeout_seconds)
        )
        self._backorder = BackorderGate()
        self._editing = False  # an edit is applying: the saga waits before its next step
        self._revisions = Revisions()
        if request.cancelled_before_start is not None:
            self.process.request_cancel(request.cancelled_before_start)

    @workflow.run
    async def run(self, request: OrderInput) -> OrderStatus:
        return await self.process.execute(self._saga, self._recover)

    async def _saga(self) -> OrderStatus:
        started: list[StepSpec[OrderContext, Any, Any]] = []
        self._started = started  # what `_recover` undoes if a bug interrupts the saga
        try:
            for spec in self.STEPS:
                if self._editing:
                    await workflow.wait_condition(lambda: not self._editing)
                result = await self.process.run(spec, started)
                if spec.reaches is not None:
                    self._state = OrderState(spec.reaches)
                self.process.show()
                if isinstance(result, AuthorizeResult):
                    await self._review_if_needed(result)
                    await self._backorder_if_needed(started)
            self._finish(OrderState.COMPLETED, None)
        except CancelledError:
            await self.process.compensate(started)
            self._finish(OrderState.CANCELLED, self.process.cancel_reason)
        except StepFailedError as failed:
            await self.process.compensate(started)
            self._finish(OrderState.FAILED, failed.failure.reason)
        return await self._close()

    async def _review_if_needed(self, hold: AuthorizeResult) -> None:
        """Hold the order IN_REVIEW when §6g asks for it (a rejection raises CancelledError)."""
        if not self._review.needed(self._order.total_minor, flagged=hold.review):
            return
        self._state = OrderState.IN_REVIEW
        self.process.show()
        await self._review.hold(self.process)
        self._state = OrderState.AUTHORIZED
        self.process.show()

    async def _backorder_if_needed(self, started: list[StepSpec[OrderContext, Any, Any]]) -> None:
        """Wait BACKORDERED while suppliers bring what the reservation owes (§6f); an order
        that owes nothing passes without a command. Raises as a failed or cancelled step."""
        if not self.process.context.backorder:
            return

        def waiting(now: bool) -> None:
            self._state = OrderState.BACKORDERED if now else OrderState.AUTHORIZED
            self.process.show()

        await self._backorder.hold(
            self.process, started, waiting=waiting, email=self._email_backordered
        )

    async def _email_backordered(self, eta: date) -> None:
        await self.process.must_finish(
            Step.NOTIFY_CUSTOMER,
            NotificationActivities.notify_customer,
            lambda: self._notify_input(BACKORDERED_EMAIL, eta=eta),
            policies.EMAIL,
        )

    async def _recover(self, why: str) -> OrderStatus:
        """A bug interrupted the saga (attention is set): undo what was started and fail."""
        started = getattr(self, "_started", [])
        if not self._state.terminal:
            await self.process.compensate(started)
            self._finish(OrderState.FAILED, (started[-1] if started else STEPS[0]).gives_up)
        return await self._close()

    async def _close(self) -> OrderStatus:
        if not self._emailed:
            self._emailed = True  # a bug past here is not retried into a second email
            result = await self.process.must_finish(
                Step.NOTIFY_CUSTOMER,
                NotificationActivities.notify_customer,
                self._notify_input,
                policies.EMAIL,
            )
            self._record_email(result)
        self.process.publish_outcome(self._state.value)
        workflow.logger.info("order %s finished: %s", self._order.order_id, self._state)
        return self.status()

    def _notify_input(self, event: str | None = None, *, eta: date | None = None) -> NotifyInput:
        order = self._order
        return NotifyInput(
            event=event,
            order_id=order.order_id,
            outcome=self._state,
            reason=self._reason,
            tracking_number=self.process.context.tracking_number,
            customer_name=order.customer.name,
            email=str(order.customer.email),
            currency=order.currency,
            total_amount=order.total_amount,
            lines=order.items,
            eta=eta,
        )

    def _record_email(self, result: NotifyResult | None) -> None:
        if result is None:
            return  # settled by hand (recorded by the core)
        if result.rejected:
            self.process.record(Step.NOTIFY_CUSTOMER, f"not sent: {result.rejected}")
        else:
            self._email_sent = True
            self.process.record(Step.NOTIFY_CUSTOMER)

    def _finish(self, state: OrderState, reason: str | None) -> None:
        self._reason = reason
        self._state = state
        self.process.show()

    # --- cancellation and resolution ------------------------------------------------------

    def _cancel_refusal(self) -> str | None:
        refusal = self.process.cancel_refusal(terminal=self._state.terminal)
        if refusal is None:
            return None
        if self.process.no_return and not self.process.closing and not self._state.terminal:
            return "payment capture has started; the order can no longer be cancelled"
        return f"order is already {self._state.value if self._state.terminal else 'closing'}"

    @workflow.signal(name=CANCEL_SIGNAL)
    @signal_guard
    def cancel_order(self, request: CancelRequest | str) -> None:
        """The contract's signal: the reason as a plain string (as the original demo sends
        it) or as `{"reason": ...}`."""
        if isinstance(request, str):
            request = CancelRequest(reason=request)
        refusal = self._cancel_refusal()
        if refusal is not None:
            workflow.logger.info("cancellation of %s ignored: %s", self._order.order_id, refusal)
            return
        self.process.request_cancel(request.reason)

    @workflow.update(name=CANCEL_UPDATE)
    @update_guard
    def cancel(self, request: CancelRequest) -> CancelResponse:
        self.process.request_cancel(request.reason)
        return CancelResponse(
            accepted=True,
            state=self._state,
            message=f"cancelling: {self.process.cancel_reason}",
        )

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        refusal = self._cancel_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type=ErrorType.CANCEL_REJECTED, non_retryable=True)

    @workflow.update(name=RESOLVE_UPDATE)
    @update_guard
    def resolve(self, request: ResolveRequest) -> ResolveResponse:
        self.process.resolve(request)
        return ResolveResponse(accepted=True, message=f"{request.step} settled by hand")

    @resolve.validator
    def _validate_resolve(self, request: ResolveRequest) -> None:
        refusal = self.process.resolve_refusal(request)
        if refusal is not None:
            raise ApplicationError(refusal, type=ErrorType.CANCEL_REJECTED, non_retryable=True)

    def _edit_refusal(self) -> str | None:
        process = self.process
        if process.no_return and not process.closing and not self._state.terminal:
            return "payment capture has started; the order can no longer be edited"
        if self._state.terminal or process.closing or process.cancelling():
            return f"order is {self._state.value if self._state.terminal else 'closing'}"
        if self._backorder.pending(process.context):
            # The reservation owes units to purchase orders sized for these lines.
            return "order is BACKORDERED: it can be edited once the missing items have arrived"
        return None

    @workflow.update(name=EDIT_UPDATE)
    async def edit(self, request: EditRequest) -> EditResponse:
        # The saga starts no step until the edit (and its email) is over, so `process.step`
        # stays the edit's own while it runs.
        self._editing = True
        try:
            await workflow.wait_condition(lambda: self.process.step is None)
            refusal = self._edit_refusal()
            if refusal is not None:
                raise EditRefusedError(refusal)
            new = edited(self._order, request)
            done = {spec.step for spec in getattr(self, "_started", [])}
            detail = await self._revisions.apply(
                self._order,
                new,
                reserved=Step.RESERVE_INVENTORY in done,
                authorized=Step.AUTHORIZE_PAYMENT in done,
            )
            self._order = self.process.context.order = new
            self.process.record(Step.EDIT, f"{detail}: {request.reason}")
            event = f"edit-{self._revisions.edits}"
            await self.process.must_finish(
                Step.NOTIFY_CUSTOMER,
                NotificationActivities.notify_customer,
                lambda: self._notify_input(event),
                policies.EMAIL,
            )
        except EditRefusedError as refused:
            raise ApplicationError(
                str(refused), type=ErrorType.EDIT_REFUSED, non_retryable=True
            ) from None
        except Exception as bug:  # as `update_guard`: a bug never fails the workflow task
            why = f"unexpected error in the edit update: {type(bug).__name__}"
            self.process.need_attention(why)
            raise ApplicationError(why, type=ErrorType.EDIT_REFUSED, non_retryable=True) from None
        finally:
            self._editing = False
        return EditResponse(
            accepted=True, state=self._state, message=detail, total_amount=new.total_amount
        )

    @edit.validator
    def _validate_edit(self, request: EditRequest) -> None:
        refusal = self._edit_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type=ErrorType.EDIT_REFUSED, non_retryable=True)

    @workflow.update(name=REVIEW_UPDATE)
    @update_guard
    def review(self, request: ReviewRequest) -> ReviewResponse:
        self._review.decide(request)
        verdict = "approved: the order goes on" if request.approve else "rejected: cancelling"
        return ReviewResponse(accepted=True, state=self._state, message=verdict)

    @review.validator
    def _validate_review(self, request: ReviewRequest) -> None:
        refusal = self._review.refusal(self._state)
        if refusal is not None:
            raise ApplicationError(refusal, type=ErrorType.REVIEW_REFUSED, non_retryable=True)

    @workflow.signal(name=BACKORDER_SIGNAL)
    @signal_guard
    def backorder_news(self, news: BackorderNews) -> None:
        """A purchase order's news (§6f); heard at any time, acted on while BACKORDERED."""
        if not self._state.terminal:
            self._backorder.hear(news, self.process.context)

    # --- status ---------------------------------------------------------------------------

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> OrderStatus:
        process = self.process
        return OrderStatus(
            order_id=self._order.order_id,
            state=self._state,
            step=process.step,
            steps=list(process.steps),
            reason=self._reason,
            tracking_number=process.context.tracking_number,
            package_id=process.context.package_id,
            cancel_requested=process.cancel_reason is not None,
            email_sent=self._email_sent,
            attention=process.attention,
            search_status=SearchStatus(process.search_value) if process.search_value else None,
        )
