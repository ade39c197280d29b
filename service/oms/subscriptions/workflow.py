"""SubscriptionWorkflow on the process core: one run per cycle (continue-as-new), so its history
stays small for years.

A run waits (durable timers) for the cycle's reminder and charge, then places the cycle's order
as a child `OrderWorkflow` (`order-<subscriptionId>-<cycle>`): an ordinary order, Pinned to the
build it starts on and short, while the subscription itself is Auto-upgraded across deploys.
A declined renewal is retried after 1, 3 and 7 days (scaled to short intervals), one email each,
then the subscription is SUSPENDED until `resume --token`. Updates (pause, resume, skip, change,
cancel) are validated, change only this workflow's state and wake the wait; the run hands its
state to the next at continue-as-new once every handler has finished.

Any change to the commands a run issues must be guarded with `workflow.patched` and covered by a
recorded history in tests/subscriptions/histories: waiting subscriptions replay on new builds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    VersioningBehavior,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ChildWorkflowCancellationType, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    import email_validator  # noqa: F401 - loaded lazily by the order model; never re-imported

    from oms.orders.contract import (
        CANCEL_SIGNAL,
        ORDER_STATUS_KEY,
        FailureReason,
        SearchStatus,
        order_workflow_id,
    )
    from oms.orders.models import OrderLine, Payment
    from oms.orders.payloads import CancelRequest, OrderInput, OrderStatus
    from oms.orders.workflow import OrderWorkflow
    from oms.process.runtime import BUGS, Process, update_guard
    from oms.process.wire import ResolveRequest, ResolveResponse
    from oms.subscriptions import policies
    from oms.subscriptions.activities import SubscriptionActivities
    from oms.subscriptions.contract import (
        CANCEL_UPDATE,
        CHANGE_UPDATE,
        PAUSE_UPDATE,
        RESOLVE_UPDATE,
        RESUME_UPDATE,
        SKIP_UPDATE,
        STATUS_QUERY,
        SUBSCRIPTION_STATUS_KEY,
        SubscriptionErrorType,
        SubscriptionEvent,
        SubscriptionState,
        SubscriptionStep,
        cycle_order_id,
    )
    from oms.subscriptions.models import SubscriptionMessage, first_charge
    from oms.subscriptions.payloads import (
        MAX_ORDERS_SHOWN,
        CancelSubscriptionRequest,
        Carry,
        ChangeRequest,
        CycleOrder,
        Dunning,
        PauseRequest,
        ResumeRequest,
        SkipRequest,
        SubscriptionInput,
        SubscriptionNotifyInput,
        SubscriptionStatus,
        SubscriptionUpdateResponse,
    )
    from oms.subscriptions.schedule import charge_at, dunning_delays, parse_interval

SKIPPED: Final = "SKIPPED"
# A cycle that reaches its reminder time late (the run started after it) still reminds before
# the charge; runs recorded before this skipped that reminder.
LATE_REMINDER: Final = "late-reminder"
ACTIVE, PAUSED, SUSPENDED = (
    SubscriptionState.ACTIVE,
    SubscriptionState.PAUSED,
    SubscriptionState.SUSPENDED,
)


@workflow.defn(failure_exception_types=BUGS)
class SubscriptionWorkflow:
    @workflow.init
    def __init__(self, request: SubscriptionInput) -> None:
        carry = request.carry
        self._input = request
        self._message = request.message
        self._interval = parse_interval(request.message.interval)
        self._reminder = timedelta(seconds=request.reminder_seconds)
        self._cycle = carry.cycle
        self._anchor = carry.anchor or first_charge(request.message, workflow.now())
        self._anchor_cycle = carry.anchor_cycle
        self._state = carry.state
        self._published = carry.state  # what SubscriptionStatus holds (set at start / by CAN)
        self._skip_next = carry.skip_next
        self._reminded = carry.reminded
        self._orders = list(carry.orders)
        self._dunning = carry.dunning
        self._reason: str | None = None
        self._epoch = 0  # bumped by every accepted update: a wait wakes up and looks again
        self._retry_now = False  # a new token arrived during dunning
        self.process: Process[None] = Process(
            subject=f"subscription {request.message.subscription_id}",
            context=None,
            attention_after=timedelta(seconds=request.attention_after_seconds),
            resolvable=(SubscriptionStep.NOTIFY_SUBSCRIPTION,),
            search_key=ORDER_STATUS_KEY,  # only while a person is needed, as every flow
            search_value=None,
            describe=lambda: [self._state.value, f"cycle {self._cycle}"],
        )

    @workflow.run
    async def run(self, request: SubscriptionInput) -> SubscriptionStatus:
        return await self.process.execute(self._flow, self._recover)

    # --- one cycle --------------------------------------------------------------------------

    async def _flow(self) -> SubscriptionStatus:
        while True:  # until the cycle is due, or the subscription ends
            if self.process.cancel_reason is not None:
                return self._end(SubscriptionState.CANCELLED, self.process.cancel_reason)
            if self._state != ACTIVE:
                await self._wait(None)  # paused: until an update
                continue
            now, due = workflow.now(), self.next_charge_at()
            remind_at = due - self._reminder
            if self._reminds() and not self._reminded and not self._skip_next and now < remind_at:
                if not await self._wait(remind_at - now):
                    await self._remind(due)
                continue
            if (
                self._reminds() and not self._reminded and not self._skip_next and now < due
                and workflow.patched(LATE_REMINDER)
            ):  # fmt: skip
                await self._remind(due)  # behind schedule (a worker was down): late, not never
                continue
            if now < due:
                await self._wait(due - now)
                continue
            break
        if self._skip_next:
            self._skip_next = False
            self._add(CycleOrder(order_id="", cycle=self._cycle, state=SKIPPED))
            self.process.record(SubscriptionStep.SKIP, f"cycle {self._cycle}")
        else:
            await self._charge()
        if self.process.cancel_reason is not None:
            return self._end(SubscriptionState.CANCELLED, self.process.cancel_reason)
        return await self._next_cycle()

    async def _recover(self, why: str) -> SubscriptionStatus:
        """A bug interrupted the cycle (attention is set): it ends as it stands, for a person."""
        self._reason = why
        return self._end(self._state, why)

    def _reminds(self) -> bool:
        """A reminder before each charge, unless the interval is shorter than its lead."""
        return timedelta(0) < self._reminder < self._interval.approximate

    async def _wait(self, within: timedelta | None) -> bool:
        """True when an update woke the wait, False when the time is up."""
        seen = self._epoch
        try:
            await workflow.wait_condition(lambda: self._epoch != seen, timeout=within)
        except TimeoutError:
            return False
        return True

    async def _charge(self) -> None:
        """The cycle's order; a declined renewal goes through dunning, then SUSPENDED."""
        delays = dunning_delays(self._interval)
        lines = self._message.items  # this cycle's lines: a change applies from the next cycle
        retry = 0
        while True:
            self._retry_now = False
            placed = await self._place(cycle_order_id(self.sid, self._cycle, retry), lines)
            if placed.reason != FailureReason.PAYMENT_DECLINED or (
                self.process.cancel_reason is not None
            ):
                self._dunning = None
                return
            if retry < len(delays):
                retry_at = workflow.now() + delays[retry]
                self._dunning = Dunning(cycle=self._cycle, retries=retry, next_retry_at=retry_at)
                await self._email(SubscriptionEvent.DUNNING, f"{self._cycle}-{retry + 1}", retry_at)
                while not (self._retry_now or self.process.cancel_reason is not None):
                    left = retry_at - workflow.now()
                    if left <= timedelta(0) or not await self._wait(left):
                        break
            else:
                self._dunning = Dunning(cycle=self._cycle, retries=retry)
                self._set_state(SUSPENDED)
                self.process.record(SubscriptionStep.SUSPEND, f"cycle {self._cycle}")
                await self._email(SubscriptionEvent.SUSPENDED, str(self._cycle), None)
                await workflow.wait_condition(
                    lambda: self._state != SUSPENDED or self.process.cancel_reason is not None
                )
            if self.process.cancel_reason is not None:
                self._dunning = None
                return
            retry += 1

    async def _place(self, order_id: str, lines: list[OrderLine]) -> CycleOrder:
        """The cycle's order as a child workflow; on cancel, the order is asked to cancel too
        (it refuses once capture has started) and its outcome is awaited."""
        message = self._message.model_copy(update={"items": lines})
        self.process.step = SubscriptionStep.PLACE_ORDER
        try:
            handle = await workflow.start_child_workflow(
                OrderWorkflow.run,
                OrderInput(
                    order=message.order_for(order_id),
                    attention_after_seconds=self._input.attention_after_seconds,
                ),
                id=order_workflow_id(order_id),
                task_queue=self._input.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                # The order outlives whatever happens to the subscription; cancelling it is an
                # explicit `cancel_order` signal, so the core's compensation decides what to undo.
                parent_close_policy=ParentClosePolicy.ABANDON,
                cancellation_type=ChildWorkflowCancellationType.ABANDON,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(ORDER_STATUS_KEY, SearchStatus.IN_PROGRESS.value)]
                ),
                static_summary=f"Order {order_id} of subscription {self.sid}",
            )
            await workflow.wait_condition(
                lambda: handle.done() or self.process.cancel_reason is not None
            )
            if not handle.done():
                reason = f"subscription cancelled: {self.process.cancel_reason}"[:200]
                await handle.signal(CANCEL_SIGNAL, CancelRequest(reason=reason))
            result: OrderStatus = await handle
            placed = CycleOrder(
                order_id=order_id, cycle=self._cycle, state=result.state, reason=result.reason
            )
        except WorkflowAlreadyStartedError:
            placed = CycleOrder(
                order_id=order_id, cycle=self._cycle, state="FAILED", reason="ORDER_ID_TAKEN"
            )
        except ChildWorkflowError as error:
            why = f"order workflow {type(error.cause).__name__}"
            placed = CycleOrder(order_id=order_id, cycle=self._cycle, state="FAILED", reason=why)
        finally:
            self.process.step = None
        self._add(placed)
        detail = f"{order_id}: {placed.state}" + (f" ({placed.reason})" if placed.reason else "")
        self.process.record(SubscriptionStep.PLACE_ORDER, detail)
        return placed

    async def _remind(self, due: datetime) -> None:
        await self._email(SubscriptionEvent.REMINDER, str(self._cycle), due)
        self._reminded = True

    async def _email(self, event: SubscriptionEvent, key: str, at: datetime | None) -> None:
        message = self._message

        def notify() -> SubscriptionNotifyInput:
            return SubscriptionNotifyInput(
                subscription_id=self.sid,
                event=event,
                key=key,
                cycle=self._cycle,
                customer_name=message.customer.name,
                email=str(message.customer.email),
                lines=message.items,
                currency=message.currency,
                charge_at=at,
            )

        step = SubscriptionStep.NOTIFY_SUBSCRIPTION
        result = await self.process.must_finish(
            step, SubscriptionActivities.notify_subscription, notify, policies.EMAIL
        )
        if result is not None:
            rejected = f": not sent ({result.rejected})" if result.rejected else ""
            self.process.record(step, f"{event.value} {key}{rejected}")
        if self.process.search_value is not None and self.process.attention is None:
            # It needed a person and no longer does: clear the core's attention keyword.
            self.process.search_value = None
            workflow.upsert_search_attributes([ORDER_STATUS_KEY.value_unset()])

    async def _next_cycle(self) -> SubscriptionStatus:  # noqa: RET503 - continue_as_new raises
        if self._message.cycles is not None and self._cycle >= self._message.cycles:
            return self._end(SubscriptionState.FINISHED, None)
        # An update being handled now lands in this run's state before it is handed over.
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.process.cancel_reason is not None:
            return self._end(SubscriptionState.CANCELLED, self.process.cancel_reason)
        carry = Carry(
            cycle=self._cycle + 1,
            anchor=self._anchor,
            anchor_cycle=self._anchor_cycle,
            state=self._state,
            skip_next=self._skip_next,
            orders=self._orders,
        )
        workflow.continue_as_new(
            self._input.model_copy(update={"message": self._message, "carry": carry}),
            # Free with the new run (no upsert): what the state is now.
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(SUBSCRIPTION_STATUS_KEY, self._state.value)]
            ),
        )

    def _end(self, state: SubscriptionState, reason: str | None) -> SubscriptionStatus:
        self._reason = reason
        self._set_state(state)
        workflow.logger.info("subscription %s ended: %s", self.sid, state)
        return self.status()

    # --- state --------------------------------------------------------------------------------

    @property
    def sid(self) -> str:
        return self._message.subscription_id

    def next_charge_at(self) -> datetime:
        return charge_at(self._anchor, self._interval, self._cycle - self._anchor_cycle)

    def _set_state(self, state: SubscriptionState) -> None:
        """The one upsert of SubscriptionStatus (a billable action): when the state changes."""
        self._state = state
        self.process.show()
        if state != self._published:
            self._published = state
            workflow.upsert_search_attributes([SUBSCRIPTION_STATUS_KEY.value_set(state.value)])

    def _add(self, order: CycleOrder) -> None:
        self._orders = [*self._orders, order][-MAX_ORDERS_SHOWN:]

    def _accept(self, step: SubscriptionStep, detail: str) -> SubscriptionUpdateResponse:
        self._epoch += 1
        self.process.record(step, detail)
        return SubscriptionUpdateResponse(accepted=True, state=self._state, message=detail)

    def _refuse(self, why: str) -> ApplicationError:
        kind = SubscriptionErrorType.REQUEST_REJECTED
        return ApplicationError(why, type=kind, non_retryable=True)

    def _refuse_if_over(self) -> None:
        if self._state.terminal:
            raise self._refuse(f"subscription is already {self._state.value}")
        if self.process.cancel_reason is not None:
            raise self._refuse("subscription is being cancelled")

    # --- updates ------------------------------------------------------------------------------

    @workflow.update(name=PAUSE_UPDATE)
    @update_guard
    def pause(self, request: PauseRequest) -> SubscriptionUpdateResponse:
        self._set_state(PAUSED)
        return self._accept(SubscriptionStep.PAUSE, request.reason)

    @pause.validator
    def _validate_pause(self, request: PauseRequest) -> None:
        self._refuse_if_over()
        if self._state == PAUSED:
            raise self._refuse("subscription is already paused")
        if self._state == SUSPENDED or self._dunning is not None:
            raise self._refuse("a declined renewal is pending: resume with --token, or cancel")

    @workflow.update(name=RESUME_UPDATE)
    @update_guard
    def resume(self, request: ResumeRequest) -> SubscriptionUpdateResponse:
        if request.token is not None:
            payment = Payment(method=self._message.payment.method, token=request.token)
            self._message = self._message.model_copy(update={"payment": payment})
            self._retry_now = self._dunning is not None
        if self._state == PAUSED and self.next_charge_at() < workflow.now():
            self._anchor, self._anchor_cycle = workflow.now(), self._cycle  # charge now, not N
        self._set_state(ACTIVE)
        token = " with a new payment token" if request.token else ""
        return self._accept(SubscriptionStep.RESUME, f"resumed{token}")

    @resume.validator
    def _validate_resume(self, request: ResumeRequest) -> None:
        self._refuse_if_over()
        if self._state == SUSPENDED and request.token is None:
            raise self._refuse("subscription is suspended: resume it with a new --token")
        if self._state == ACTIVE and (self._dunning is None or request.token is None):
            raise self._refuse("subscription is not paused")

    @workflow.update(name=SKIP_UPDATE)
    @update_guard
    def skip(self, request: SkipRequest) -> SubscriptionUpdateResponse:
        self._skip_next = True
        # While this cycle's order runs (or is being retried) the skip is the next cycle's.
        busy = self.process.step is not None or self._dunning is not None
        return self._accept(SubscriptionStep.SKIP, f"cycle {self._cycle + busy} will be skipped")

    @skip.validator
    def _validate_skip(self, request: SkipRequest) -> None:
        self._refuse_if_over()
        if self._skip_next:
            raise self._refuse("the next cycle is already skipped")

    @workflow.update(name=CHANGE_UPDATE)
    @update_guard
    def change(self, request: ChangeRequest) -> SubscriptionUpdateResponse:
        lines = [
            line.model_copy(update={"quantity": request.items.get(line.sku, line.quantity)})
            for line in self._message.items
            if request.items.get(line.sku, line.quantity) > 0
        ]
        self._message = self._message.model_copy(update={"items": lines})
        units = ", ".join(f"{q} x {s}" for s, q in sorted(request.items.items()))
        return self._accept(SubscriptionStep.CHANGE, f"from the next cycle: {units}")

    @change.validator
    def _validate_change(self, request: ChangeRequest) -> None:
        self._refuse_if_over()
        known = {line.sku: line.quantity for line in self._message.items}
        if not request.items:
            raise self._refuse("name at least one line: --item SKU=QTY")
        for sku, quantity in request.items.items():
            if sku not in known:
                raise self._refuse(f"{sku} is not a line of this subscription (no price for it)")
            if not 0 <= quantity <= 999:
                raise self._refuse(f"{sku}: quantity 0 to 999, not {quantity}")
        if all(request.items.get(sku, q) == 0 for sku, q in known.items()):
            raise self._refuse("at least one line must stay (cancel the subscription instead)")

    @workflow.update(name=CANCEL_UPDATE)
    @update_guard
    def cancel(self, request: CancelSubscriptionRequest) -> SubscriptionUpdateResponse:
        self.process.request_cancel(request.reason)
        return self._accept(SubscriptionStep.CANCEL, request.reason)

    @cancel.validator
    def _validate_cancel(self, request: CancelSubscriptionRequest) -> None:
        if self._state.terminal:
            raise self._refuse(f"subscription is already {self._state.value}")

    @workflow.update(name=RESOLVE_UPDATE)
    @update_guard
    def resolve(self, request: ResolveRequest) -> ResolveResponse:
        self.process.resolve(request)
        return ResolveResponse(accepted=True, message=f"{request.step} settled by hand")

    @resolve.validator
    def _validate_resolve(self, request: ResolveRequest) -> None:
        refusal = self.process.resolve_refusal(request)
        if refusal is not None:
            raise self._refuse(refusal)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> SubscriptionStatus:
        message: SubscriptionMessage = self._message
        return SubscriptionStatus(
            subscription_id=self.sid,
            state=self._state,
            cycle=self._cycle,
            cycles=message.cycles,
            interval=message.interval,
            next_charge_at=None if self._state.terminal else self.next_charge_at(),
            skip_next=self._skip_next,
            items=message.items,
            currency=message.currency,
            orders=self._orders,
            dunning=self._dunning,
            reason=self._reason,
            steps=list(self.process.steps),
            attention=self.process.attention,
        )


@workflow.defn(
    name="SubscriptionWorkflow",
    versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    failure_exception_types=BUGS,
)
class AutoUpgradingSubscriptionWorkflow(SubscriptionWorkflow):
    """What a versioned worker registers (`oms.worker.AUTO_UPGRADE`): a subscription lives for
    years, so it moves to new builds (changes guarded by `workflow.patched`); its orders are
    Pinned (the worker's default) and short."""

    @workflow.run
    async def run(self, request: SubscriptionInput) -> SubscriptionStatus:
        return await super().run(request)
