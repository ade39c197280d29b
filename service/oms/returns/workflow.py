"""ReturnWorkflow on the process core: hold the units, email the instructions, wait for the
parcel (a durable timer of days), then refund the accepted lines, restock them and confirm by
email; or, with no parcel in time or on cancel, make the units returnable again and say so.

Every step that must finish retries until it does; past the attention window the return is
NEEDS_ATTENTION (search attribute, `oms doctor`, the attention metric) while retries go on, and
an operator may settle a stuck step with `oms resolve return-<orderId>-<n> --step S`.

Returns live for weeks, so this workflow is upgraded to new worker builds while it waits
(Auto-upgrade under Worker Versioning). Any change to the commands it issues (activities, their
order, the timer) must be guarded with `workflow.patched("<change>")` and covered by a recorded
history in tests/returns/histories, or waiting returns fail on the next deploy.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.orders.contract import ORDER_STATUS_KEY
    from oms.process.runtime import (
        BUGS,
        CancelledError,
        Process,
        StepFailedError,
        update_guard,
    )
    from oms.process.steps import Compensation, StepSpec
    from oms.process.wire import ResolveRequest, ResolveResponse
    from oms.returns import policies
    from oms.returns.activities import ReturnActivities
    from oms.returns.contract import (
        CANCEL_UPDATE,
        RECEIVE_UPDATE,
        RESOLVE_UPDATE,
        STATUS_QUERY,
        RejectReason,
        ReturnErrorType,
        ReturnEvent,
        ReturnState,
        ReturnStep,
    )
    from oms.returns.payloads import (
        CancelReturnRequest,
        HoldInput,
        LedgerResult,
        ReceiveRequest,
        RefundReturnInput,
        RestockInput,
        ReturnInput,
        ReturnLine,
        ReturnNotifyInput,
        ReturnRef,
        ReturnStatus,
        ReturnUpdateResponse,
    )

MIN_WAIT: Final = timedelta(seconds=1)
RESOLVABLE: Final = (
    ReturnStep.REFUND_RETURN,
    ReturnStep.RESTOCK_RETURN,
    ReturnStep.RELEASE_RETURN,
    ReturnStep.SEND_INSTRUCTIONS,
    ReturnStep.NOTIFY_REFUND,
    ReturnStep.NOTIFY_CLOSED,
)


@dataclass
class ReturnContext:
    request: ReturnInput
    accepted: dict[str, int] | None = None  # set by the receive update
    refund: Decimal | None = None


def _ref(context: ReturnContext) -> ReturnRef:
    return ReturnRef(order_id=context.request.order_id, number=context.request.number)


HOLD: Final[StepSpec[ReturnContext, HoldInput, LedgerResult]] = StepSpec(
    step=ReturnStep.HOLD_RETURN,
    activity=ReturnActivities.hold_return,
    build=lambda c: HoldInput(
        order_id=c.request.order_id,
        number=c.request.number,
        lines={line.sku: line.quantity for line in c.request.lines},
        shipped=c.request.shipped,
        shipped_at=c.request.shipped_at or workflow.now(),
        request_id=c.request.request_id,
        delivered=c.request.delivered,
    ),
    options=policies.STEP,
    reaches=ReturnState.REQUESTED,
    gives_up=RejectReason.LEDGER_UNAVAILABLE,
    compensation=Compensation(
        ReturnStep.RELEASE_RETURN, ReturnActivities.release_return, _ref, policies.MUST_FINISH
    ),
    business={ReturnErrorType.NOT_RETURNABLE.value: RejectReason.NOT_RETURNABLE},
)


@workflow.defn(failure_exception_types=BUGS)
class ReturnWorkflow:
    STEPS = (HOLD,)  # the table this workflow runs before it waits (a test variant swaps it)

    @workflow.init
    def __init__(self, request: ReturnInput) -> None:
        self._request = request
        self._state = ReturnState.REQUESTED
        self._reason: str | None = None
        self._parcel_due = workflow.now() + timedelta(days=request.parcel_days)
        self.process = Process(
            subject=f"return {request.return_id}",
            context=ReturnContext(request=request),
            attention_after=timedelta(seconds=request.attention_after_seconds),
            resolvable=RESOLVABLE,
            search_key=ORDER_STATUS_KEY,
            search_value=None,  # set only once the return needs a person
            describe=lambda: [self._state.value, self._reason or ""],
        )

    @workflow.run
    async def run(self, request: ReturnInput) -> ReturnStatus:
        return await self.process.execute(self._flow, self._recover)

    async def _flow(self) -> ReturnStatus:
        request = self._request
        # The return holds its units itself; a return started before that (no `shipped_at` in
        # its input: `oms return` held the units, then started it) skips the hold. Gated on the
        # input rather than `workflow.patched`: the same safety for waiting returns, no marker.
        if request.shipped_at is not None:
            started: list[StepSpec[ReturnContext, Any, Any]] = []
            try:
                for spec in self.STEPS:
                    await self.process.run(spec, started)
            except CancelledError:
                await self.process.compensate(started)
                return await self._closed_early(ReturnState.CANCELLED, ReturnEvent.CANCELLED)
            except StepFailedError as failed:
                await self.process.compensate(started)
                self._reason = failed.failure.reason
                return self._end(ReturnState.REJECTED)
        await self._email(ReturnStep.SEND_INSTRUCTIONS, ReturnEvent.INSTRUCTIONS, request.lines)
        if not self._decided():
            self._state = ReturnState.AWAITING_PARCEL
            self.process.show()
        with contextlib.suppress(TimeoutError):  # no parcel in time
            await workflow.wait_condition(
                self._decided, timeout=max(self._parcel_due - workflow.now(), MIN_WAIT)
            )
        self.process.no_return = True  # the wait is over: receive and cancel are refused
        accepted = self.process.context.accepted
        if accepted is not None:
            await self._receive(accepted)
        else:
            await self._release()
        return self._end(self._state)

    async def _recover(self, why: str) -> ReturnStatus:
        """A bug interrupted the return (attention is set): it ends as it stands, for a person."""
        self._reason = why
        return self._end(self._state)

    def _end(self, state: ReturnState) -> ReturnStatus:
        self._state = state
        self.process.show()
        if self.process.search_value is not None:  # it needed a person: show how it ended
            self.process.publish_outcome(state.search_value)
        workflow.logger.info("return %s finished: %s", self._request.return_id, state)
        return self.status()

    async def _receive(self, accepted: dict[str, int]) -> None:
        request = self._request
        context = self.process.context
        self._state = ReturnState.RECEIVED
        self.process.show()
        lines = self._accepted_lines()
        amount = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
        refund = await self.process.must_finish(
            ReturnStep.REFUND_RETURN,
            ReturnActivities.refund_return,
            # The same command as before parcels (only its input grew): no patch needed.
            lambda: RefundReturnInput(
                order_id=request.order_id,
                return_id=request.return_id,
                amount=amount,
                number=request.number,
                lines=lines,
            ),
            policies.MUST_FINISH,
        )
        if refund is not None:  # None: settled by hand (recorded)
            context.refund = refund.amount
            self.process.record(ReturnStep.REFUND_RETURN, f"{refund.amount} {request.currency}")
        self._state = ReturnState.REFUNDED
        self.process.show()
        restock = await self.process.must_finish(
            ReturnStep.RESTOCK_RETURN,
            ReturnActivities.restock_return,
            lambda: RestockInput(
                order_id=request.order_id, number=request.number, accepted=accepted
            ),
            policies.MUST_FINISH,
        )
        if restock is not None:
            self.process.record(ReturnStep.RESTOCK_RETURN, _units(accepted))
        await self._email(ReturnStep.NOTIFY_REFUND, ReturnEvent.REFUNDED, lines)
        self._state = ReturnState.COMPLETED

    async def _release(self) -> None:
        """No parcel in time, or cancelled: the units become returnable again."""
        request = self._request
        cancelled = self.process.cancel_reason is not None
        release = await self.process.must_finish(
            ReturnStep.RELEASE_RETURN,
            ReturnActivities.release_return,
            lambda: ReturnRef(order_id=request.order_id, number=request.number),
            policies.MUST_FINISH,
        )
        if release is not None:
            self.process.record(
                ReturnStep.RELEASE_RETURN, self.process.cancel_reason or "no parcel in time"
            )
        self._state = ReturnState.CANCELLED if cancelled else ReturnState.EXPIRED
        event = ReturnEvent.CANCELLED if cancelled else ReturnEvent.EXPIRED
        await self._email(ReturnStep.NOTIFY_CLOSED, event, request.lines)

    async def _closed_early(self, state: ReturnState, event: ReturnEvent) -> ReturnStatus:
        self._state = state
        await self._email(ReturnStep.NOTIFY_CLOSED, event, self._request.lines)
        return self._end(state)

    async def _email(self, step: ReturnStep, event: ReturnEvent, lines: list[ReturnLine]) -> None:
        request = self._request

        def notify() -> ReturnNotifyInput:
            return ReturnNotifyInput(
                order_id=request.order_id,
                return_id=request.return_id,
                event=event,
                customer_name=request.customer_name,
                email=request.email,
                lines=lines,
                currency=request.currency,
                amount=self.process.context.refund,
                parcel_due=self._parcel_due,
            )

        result = await self.process.must_finish(
            step, ReturnActivities.notify_return, notify, policies.EMAIL
        )
        if result is not None:
            self.process.record(step, f"not sent: {result.rejected}" if result.rejected else None)

    # --- handlers -------------------------------------------------------------------------

    def _decided(self) -> bool:
        return self.process.context.accepted is not None or self.process.cancel_reason is not None

    def _refusal(self) -> str | None:
        if self._state.terminal:
            return f"return is already {self._state.value}"
        if self.process.context.accepted is not None:
            return "the parcel was already received"
        if self.process.cancel_reason is not None:
            return "the return was already cancelled"
        if self.process.no_return:
            return "no parcel arrived in time: the return is expiring"
        return None

    def _refuse(self, why: str) -> ApplicationError:
        return ApplicationError(why, type=ReturnErrorType.REQUEST_REJECTED, non_retryable=True)

    @workflow.update(name=RECEIVE_UPDATE)
    @update_guard
    def receive(self, request: ReceiveRequest) -> ReturnUpdateResponse:
        requested = {line.sku: line.quantity for line in self._request.lines}
        accepted = dict(requested) if request.accepted is None else dict(request.accepted)
        for sku in requested:
            accepted.setdefault(sku, 0)
        self.process.context.accepted = accepted
        self.process.record(ReturnStep.RECEIVE_PARCEL, _units(accepted))
        return ReturnUpdateResponse(
            accepted=True, state=ReturnState.RECEIVED, message="parcel received: refunding"
        )

    @receive.validator
    def _validate_receive(self, request: ReceiveRequest) -> None:
        refusal = self._refusal()
        if refusal is not None:
            raise self._refuse(refusal)
        requested = {line.sku: line.quantity for line in self._request.lines}
        for sku, quantity in (request.accepted or {}).items():
            if sku not in requested:
                raise self._refuse(f"{sku} is not part of return {self._request.return_id}")
            if not 0 <= quantity <= requested[sku]:
                raise self._refuse(f"{sku}: accept 0 to {requested[sku]} units, not {quantity}")

    @workflow.update(name=CANCEL_UPDATE)
    @update_guard
    def cancel(self, request: CancelReturnRequest) -> ReturnUpdateResponse:
        self.process.request_cancel(request.reason)
        return ReturnUpdateResponse(
            accepted=True, state=self._state, message=f"cancelling: {request.reason}"
        )

    @cancel.validator
    def _validate_cancel(self, request: CancelReturnRequest) -> None:
        refusal = self._refusal()
        if refusal is not None:
            raise self._refuse(refusal)

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
    def status(self) -> ReturnStatus:
        request = self._request
        context = self.process.context
        return ReturnStatus(
            return_id=request.return_id,
            order_id=request.order_id,
            state=self._state,
            items=request.lines,
            accepted=self._accepted_lines() if context.accepted is not None else None,
            refund_amount=context.refund,
            currency=request.currency,
            reason=self.process.cancel_reason or self._reason,
            steps=list(self.process.steps),
            parcel_due=self._parcel_due,
            step=self.process.step,
            attention=self.process.attention,
        )

    def _accepted_lines(self) -> list[ReturnLine]:
        accepted = self.process.context.accepted or {}
        return [
            ReturnLine(sku=line.sku, quantity=accepted.get(line.sku, 0), unit_price=line.unit_price)
            for line in self._request.lines
        ]


def _units(quantities: dict[str, int]) -> str:
    return ", ".join(f"{q} x {sku}" for sku, q in sorted(quantities.items()))


@workflow.defn(
    name="ReturnWorkflow",
    versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    failure_exception_types=BUGS,
)
class AutoUpgradingReturnWorkflow(ReturnWorkflow):
    """What a versioned worker registers (`oms.worker.AUTO_UPGRADE`): returns live for weeks, so
    they move to new builds (changes guarded by `workflow.patched`). An unversioned worker
    registers the plain class: the server refuses a behaviour from it."""

    @workflow.run
    async def run(self, request: ReturnInput) -> ReturnStatus:
        return await super().run(request)
