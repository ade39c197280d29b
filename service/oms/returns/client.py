"""The client half of returns: open, status, receive, cancel. The CLI, the demo and the tests
call this; nothing else holds a return's workflow handle.

What a return needs from its order (lines, prices, currency, the customer's contact) is the
order workflow's own input, read from its history and decoded with the same data converter (so
it stays encrypted at rest in Temporal and never lands in the ledger); the ship time is in the
order's result. Eligibility is checked twice: the window here, the quantities atomically in the
ledger (`ReturnBookRepository.open`). Namespace retention must cover the return window.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from oms.delivery.client import DeliveryClient
from oms.orders.client import QUERY_TIMEOUT, UPDATE_TIMEOUT, NoWorkerError, OrderClient
from oms.orders.contract import OrderState, Step, order_workflow_id
from oms.orders.payloads import OrderInput
from oms.polling import poll_until
from oms.process.wire import ResolveRequest, ResolveResponse
from oms.returns.book import NotReturnableError, ReturnBookRepository
from oms.returns.contract import ReturnState, ReturnStep, parse_return_id, return_id
from oms.returns.eligible import delivered_parcels
from oms.returns.payloads import (
    CancelReturnRequest,
    ReceiveRequest,
    ReturnInput,
    ReturnLine,
    ReturnStatus,
    ReturnUpdateResponse,
)
from oms.returns.workflow import ReturnWorkflow

DEFAULT_PARCEL_DAYS: Final = 14
HOLD_WAIT: Final = timedelta(seconds=30)  # for the return's workflow to hold the units


class ReturnNotFoundError(LookupError):
    pass


class ReturnClient:
    def __init__(
        self,
        orders: OrderClient,
        *,
        parcel_days: int = DEFAULT_PARCEL_DAYS,
        attention_after_seconds: int = 300,
    ) -> None:
        self.orders = orders
        self.temporal = orders.temporal
        self.book = ReturnBookRepository(orders.ledger)
        self.deliveries = DeliveryClient(orders.temporal)
        self._parcel_days = parcel_days
        self._attention_after_seconds = attention_after_seconds

    # --- open -----------------------------------------------------------------------------

    async def open(
        self,
        order_id: str,
        items: Mapping[str, int],
        *,
        reason: str,
        request_id: str | None = None,
        parcel: int | None = None,
    ) -> ReturnStatus:
        """Open a return of `items` (SKU -> units) of a COMPLETED order. The same `request_id`
        gives the same return. Raises `NotReturnableError` (with the reason) when the return's
        workflow could not hold the units: not shipped, the window is over, too many units, or
        units of a parcel not delivered yet. The units come from the delivered parcels, first
        parcel first, or only from `parcel` when it is given.

        The return is numbered first (no units held), then its workflow holds the units: a
        crash between the two strands nothing, and the same request started again resumes."""
        status = await self.orders.status(order_id)  # OrderNotFoundError if there is no order
        if status.state != OrderState.COMPLETED:
            raise NotReturnableError(f"order {order_id} is {status.state}, not COMPLETED")
        shipped_at = next((s.at for s in status.steps if s.step == Step.SHIP), None)
        if shipped_at is None:
            raise NotReturnableError(f"order {order_id} has no shipping time")
        if not items or any(quantity < 1 for quantity in items.values()):
            raise NotReturnableError("a return needs at least one line, each of 1 unit or more")
        order = (await self._order_input(order_id)).order
        lines = {line.sku: line for line in order.items}
        unknown = sorted(set(items) - set(lines))
        if unknown:
            raise NotReturnableError(f"{unknown[0]} is not part of order {order_id}")
        delivered = await delivered_parcels(self.deliveries, order_id, items, parcel)
        request_id = request_id or uuid.uuid4().hex
        opened = await asyncio.to_thread(self.book.allocate, order_id, request_id)
        rid = return_id(order_id, opened.number)
        request = ReturnInput(
            return_id=rid,
            order_id=order_id,
            number=opened.number,
            lines=[
                ReturnLine(sku=sku, quantity=q, unit_price=lines[sku].unit_price)
                for sku, q in items.items()
            ],
            currency=order.currency,
            reason=reason,
            customer_name=order.customer.name,
            email=str(order.customer.email),
            parcel_days=self._parcel_days,
            request_id=request_id,
            shipped={sku: line.quantity for sku, line in lines.items()},
            shipped_at=shipped_at,
            attention_after_seconds=self._attention_after_seconds,
            delivered=delivered,
        )
        await self._start(request)
        return await self._held(rid)

    async def _start(self, request: ReturnInput) -> None:
        with contextlib.suppress(WorkflowAlreadyStartedError):  # the same request, finished
            await self.temporal.start_workflow(
                ReturnWorkflow.run,
                request,
                id=request.return_id,
                task_queue=self.orders.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"Return {request.return_id}",
            )

    async def _held(self, rid: str) -> ReturnStatus:
        """Where the return is once its workflow decided the hold (REJECTED raises)."""
        status = await poll_until(
            lambda: self.status(rid),
            lambda s: s.state != ReturnState.REQUESTED or _held_once(s),
            within=HOLD_WAIT,
            what=f"return {rid} holding its units",
        )
        if status.state == ReturnState.REJECTED:
            detail = next(
                (s.detail for s in reversed(status.steps) if s.step == ReturnStep.HOLD_RETURN),
                None,
            )
            raise NotReturnableError(_refusal_text(detail) or f"return {rid} was rejected")
        return status

    async def _order_input(self, order_id: str) -> OrderInput:
        handle = self.temporal.get_workflow_handle(order_workflow_id(order_id))
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                [decoded] = await self.temporal.data_converter.decode(payloads, [OrderInput])
                assert isinstance(decoded, OrderInput)
                return decoded
        raise NotReturnableError(f"the history of order {order_id} is no longer available")

    # --- read and change ------------------------------------------------------------------

    def _handle(self, rid: str) -> WorkflowHandle[Any, ReturnStatus]:
        if parse_return_id(rid) is None:
            raise ReturnNotFoundError(f"not a return id: {rid!r} (return-<orderId>-<n>)")
        return self.temporal.get_workflow_handle(rid, result_type=ReturnStatus)

    async def _describe(self, rid: str) -> Any:
        try:
            return await self._handle(rid).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise ReturnNotFoundError(f"no return {rid}") from None
            raise

    async def result(self, rid: str) -> ReturnStatus:
        return await self._handle(rid).result()

    async def status(self, rid: str) -> ReturnStatus:
        description = await self._describe(rid)
        handle = self._handle(rid)
        if description.status == WorkflowExecutionStatus.RUNNING:
            try:
                return await handle.query(ReturnWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
            except RPCError as exc:
                if exc.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
                    raise NoWorkerError(
                        f"no worker answered the status query within {QUERY_TIMEOUT} "
                        f"(is `oms worker` polling task queue {description.task_queue}?)"
                    ) from None
                raise
        try:
            return await handle.result()
        except WorkflowFailureError as exc:
            raise RuntimeError(f"return {rid} stopped in Temporal: {exc.cause}") from None

    async def receive(self, rid: str, accepted: Mapping[str, int] | None) -> ReturnUpdateResponse:
        request = ReceiveRequest(accepted=dict(accepted) if accepted is not None else None)
        return await self._update(rid, ReturnWorkflow.receive, request)

    async def cancel(self, rid: str, reason: str) -> ReturnUpdateResponse:
        return await self._update(rid, ReturnWorkflow.cancel, CancelReturnRequest(reason=reason))

    async def resolve(self, rid: str, step: str, note: str) -> ResolveResponse:
        """Settle by hand a step of the return that needs attention (`oms resolve`)."""
        answer = await self._update(
            rid, ReturnWorkflow.resolve, ResolveRequest(step=step, note=note)
        )
        return ResolveResponse(accepted=answer.accepted, message=answer.message)

    async def _update(self, rid: str, update: Any, request: Any) -> ReturnUpdateResponse:
        description = await self._describe(rid)
        if description.status != WorkflowExecutionStatus.RUNNING:
            final = await self.status(rid)
            return ReturnUpdateResponse(
                accepted=False, state=final.state, message=f"return is already {final.state}"
            )
        try:
            answer = await self._handle(rid).execute_update(
                update, request, rpc_timeout=UPDATE_TIMEOUT
            )
            if isinstance(answer, ResolveResponse):
                status = await self.status(rid)
                return ReturnUpdateResponse(
                    accepted=answer.accepted, state=status.state, message=answer.message
                )
            assert isinstance(answer, ReturnUpdateResponse)
            return answer
        except WorkflowUpdateFailedError as exc:  # the validator said no
            final = await self.status(rid)
            return ReturnUpdateResponse(accepted=False, state=final.state, message=str(exc.cause))
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise NoWorkerError(
                f"no worker answered within {UPDATE_TIMEOUT}; it may still apply: "
                f"check `oms return status {rid}`"
            ) from None


def _held_once(status: ReturnStatus) -> bool:
    return any(s.step == ReturnStep.HOLD_RETURN for s in status.steps) or bool(
        status.steps and status.steps[0].step != ReturnStep.HOLD_RETURN
    )


def _refusal_text(detail: str | None) -> str | None:
    """The business reason a hold was refused (the step's record: `failed: <reason>`)."""
    return detail.removeprefix("failed: ") if detail else None
