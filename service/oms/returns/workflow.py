"""ReturnWorkflow: instructions email, wait for the parcel (a durable timer of days), then refund
the accepted lines, restock them and confirm by email; or, with no parcel in time or on cancel,
make the units returnable again and say so by email.

Returns live for weeks, so this workflow is upgraded to new worker builds while it waits
(Auto-upgrade under Worker Versioning). Any change to the commands it issues (activities, their
order, the timer) must be guarded with `workflow.patched("<change>")` and covered by a recorded
history in tests/returns/histories, or waiting returns fail on the next deploy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.orders.payloads import NotifyResult
    from oms.returns import policies
    from oms.returns.activities import ReturnActivities
    from oms.returns.contract import (
        CANCEL_UPDATE,
        RECEIVE_UPDATE,
        STATUS_QUERY,
        ReturnErrorType,
        ReturnEvent,
        ReturnState,
        ReturnStep,
    )
    from oms.returns.payloads import (
        CancelReturnRequest,
        ReceiveRequest,
        RefundReturnInput,
        RestockInput,
        ReturnInput,
        ReturnLine,
        ReturnNotifyInput,
        ReturnRef,
        ReturnStatus,
        ReturnStepRecord,
        ReturnUpdateResponse,
    )

In = TypeVar("In")
Out = TypeVar("Out")
MIN_WAIT = timedelta(seconds=1)
TEMPORAL_CANCEL = "cancellation requested in Temporal"


@workflow.defn
class ReturnWorkflow:
    @workflow.init
    def __init__(self, request: ReturnInput) -> None:
        self._request = request
        self._state = ReturnState.REQUESTED
        self._steps: list[ReturnStepRecord] = []
        self._accepted: dict[str, int] | None = None  # set by the receive update
        self._cancel_reason: str | None = None  # set by the cancel update
        self._refund: Decimal | None = None
        self._parcel_due = workflow.now() + timedelta(days=request.parcel_days)
        self._open = True  # receive and cancel are accepted until the wait is over

    @workflow.run
    async def run(self, request: ReturnInput) -> ReturnStatus:
        # Temporal's own cancellation (UI, `temporal workflow cancel`) is a cancel request: the
        # return runs in a task it never interrupts, so the units are always released (or, once
        # the parcel is in, the refund always finishes).
        flow = asyncio.create_task(self._flow(request))
        while True:
            try:
                return await asyncio.shield(flow)
            except asyncio.CancelledError:
                if flow.done():  # the worker evicted the workflow: every task was cancelled
                    raise
                if self._refusal() is None:
                    self._cancel_reason = TEMPORAL_CANCEL

    async def _flow(self, request: ReturnInput) -> ReturnStatus:
        await self._email(ReturnStep.SEND_INSTRUCTIONS, ReturnEvent.INSTRUCTIONS, request.lines)
        if not self._decided():
            self._state = ReturnState.AWAITING_PARCEL
        with contextlib.suppress(TimeoutError):  # no parcel in time
            await workflow.wait_condition(
                self._decided, timeout=max(self._parcel_due - workflow.now(), MIN_WAIT)
            )
        self._open = False
        if self._accepted is not None:
            await self._receive(self._accepted)
        else:
            await self._close()
        workflow.logger.info("return %s finished: %s", request.return_id, self._state)
        return self.status()

    async def _receive(self, accepted: dict[str, int]) -> None:
        request = self._request
        self._state = ReturnState.RECEIVED
        lines = self._accepted_lines()
        amount = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
        refund = await self._must_finish(
            ReturnStep.REFUND_RETURN,
            ReturnActivities.refund_return,
            RefundReturnInput(
                order_id=request.order_id, return_id=request.return_id, amount=amount
            ),
        )
        if refund is not None:
            self._refund = refund.amount
            self._record(ReturnStep.REFUND_RETURN, f"{refund.amount} {request.currency}")
        self._state = ReturnState.REFUNDED
        restock = await self._must_finish(
            ReturnStep.RESTOCK_RETURN,
            ReturnActivities.restock_return,
            RestockInput(order_id=request.order_id, number=request.number, accepted=accepted),
        )
        if restock is not None:
            self._record(ReturnStep.RESTOCK_RETURN, _units(accepted))
        await self._email(ReturnStep.NOTIFY_REFUND, ReturnEvent.REFUNDED, lines)
        self._state = ReturnState.COMPLETED

    async def _close(self) -> None:
        """No parcel in time, or cancelled: the units become returnable again."""
        request = self._request
        cancelled = self._cancel_reason is not None
        release = await self._must_finish(
            ReturnStep.RELEASE_RETURN,
            ReturnActivities.release_return,
            ReturnRef(order_id=request.order_id, number=request.number),
        )
        if release is not None:
            self._record(ReturnStep.RELEASE_RETURN, self._cancel_reason or "no parcel in time")
        self._state = ReturnState.CANCELLED if cancelled else ReturnState.EXPIRED
        event = ReturnEvent.CANCELLED if cancelled else ReturnEvent.EXPIRED
        await self._email(ReturnStep.NOTIFY_CLOSED, event, request.lines)

    async def _must_finish(
        self, step: ReturnStep, activity: Callable[[Any, In], Out], argument: In
    ) -> Out | None:
        """Retried until it succeeds; a business refusal is recorded and the return goes on."""
        try:
            return await workflow.execute_activity_method(
                activity, argument, **vars(policies.MUST_FINISH)
            )
        except ActivityError as error:
            cause = getattr(error.cause, "type", None) or type(error.cause).__name__
            self._record(step, f"failed: {cause}")
            return None

    async def _email(self, step: ReturnStep, event: ReturnEvent, lines: list[ReturnLine]) -> None:
        request = self._request
        notify = ReturnNotifyInput(
            order_id=request.order_id,
            return_id=request.return_id,
            event=event,
            customer_name=request.customer_name,
            email=request.email,
            lines=lines,
            currency=request.currency,
            amount=self._refund,
            parcel_due=self._parcel_due,
        )
        result: NotifyResult | None = await self._must_finish(
            step, ReturnActivities.notify_return, notify
        )
        if result is not None:
            self._record(step, f"not sent: {result.rejected}" if result.rejected else None)

    # --- handlers -------------------------------------------------------------------------

    def _decided(self) -> bool:
        return self._accepted is not None or self._cancel_reason is not None

    def _refusal(self) -> str | None:
        if self._state.terminal:
            return f"return is already {self._state.value}"
        if self._accepted is not None:
            return "the parcel was already received"
        if self._cancel_reason is not None:
            return "the return was already cancelled"
        if not self._open:
            return "no parcel arrived in time: the return is expiring"
        return None

    def _refuse(self, why: str) -> ApplicationError:
        return ApplicationError(why, type=ReturnErrorType.REQUEST_REJECTED, non_retryable=True)

    @workflow.update(name=RECEIVE_UPDATE)
    def receive(self, request: ReceiveRequest) -> ReturnUpdateResponse:
        requested = {line.sku: line.quantity for line in self._request.lines}
        self._accepted = dict(requested) if request.accepted is None else dict(request.accepted)
        for sku in requested:
            self._accepted.setdefault(sku, 0)
        self._record(ReturnStep.RECEIVE_PARCEL, _units(self._accepted))
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
    def cancel(self, request: CancelReturnRequest) -> ReturnUpdateResponse:
        self._cancel_reason = request.reason
        return ReturnUpdateResponse(
            accepted=True, state=self._state, message=f"cancelling: {request.reason}"
        )

    @cancel.validator
    def _validate_cancel(self, request: CancelReturnRequest) -> None:
        refusal = self._refusal()
        if refusal is not None:
            raise self._refuse(refusal)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> ReturnStatus:
        request = self._request
        return ReturnStatus(
            return_id=request.return_id,
            order_id=request.order_id,
            state=self._state,
            items=request.lines,
            accepted=self._accepted_lines() if self._accepted is not None else None,
            refund_amount=self._refund,
            currency=request.currency,
            reason=self._cancel_reason,
            steps=list(self._steps),
            parcel_due=self._parcel_due,
        )

    def _accepted_lines(self) -> list[ReturnLine]:
        accepted = self._accepted or {}
        return [
            ReturnLine(sku=line.sku, quantity=accepted.get(line.sku, 0), unit_price=line.unit_price)
            for line in self._request.lines
        ]

    def _record(self, step: ReturnStep, detail: str | None = None) -> None:
        self._steps.append(ReturnStepRecord(step=step, at=workflow.now(), detail=detail))


def _units(quantities: dict[str, int]) -> str:
    return ", ".join(f"{q} x {sku}" for sku, q in sorted(quantities.items()))


@workflow.defn(name="ReturnWorkflow", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class AutoUpgradingReturnWorkflow(ReturnWorkflow):
    """What a versioned worker registers (`oms.worker.AUTO_UPGRADE`): returns live for weeks, so
    they move to new builds (changes guarded by `workflow.patched`). An unversioned worker
    registers the plain class: the server refuses a behaviour from it."""

    @workflow.run
    async def run(self, request: ReturnInput) -> ReturnStatus:
        return await super().run(request)
