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
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
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

from oms.orders.client import QUERY_TIMEOUT, UPDATE_TIMEOUT, NoWorkerError, OrderClient
from oms.orders.contract import OrderState, Step, order_workflow_id
from oms.orders.payloads import OrderInput
from oms.returns.book import NotReturnableError, ReturnBookRepository
from oms.returns.contract import ReturnState, parse_return_id, return_id
from oms.returns.payloads import (
    CancelReturnRequest,
    ReceiveRequest,
    ReturnInput,
    ReturnLine,
    ReturnStatus,
    ReturnUpdateResponse,
)
from oms.returns.workflow import ReturnWorkflow

DEFAULT_WINDOW_DAYS: Final = 30
DEFAULT_PARCEL_DAYS: Final = 14


class ReturnNotFoundError(LookupError):
    pass


class ReturnClient:
    def __init__(
        self,
        orders: OrderClient,
        *,
        window_days: int = DEFAULT_WINDOW_DAYS,
        parcel_days: int = DEFAULT_PARCEL_DAYS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.orders = orders
        self.temporal = orders.temporal
        self.book = ReturnBookRepository(orders.ledger)
        self._window = timedelta(days=window_days)
        self._parcel_days = parcel_days
        self._clock = clock

    # --- open -----------------------------------------------------------------------------

    async def open(
        self,
        order_id: str,
        items: Mapping[str, int],
        *,
        reason: str,
        request_id: str | None = None,
    ) -> ReturnStatus:
        """Open a return of `items` (SKU -> units) of a COMPLETED order within the window.
        The same `request_id` gives the same return. Raises `NotReturnableError`."""
        status = await self.orders.status(order_id)  # OrderNotFoundError if there is no order
        if status.state != OrderState.COMPLETED:
            raise NotReturnableError(f"order {order_id} is {status.state}, not COMPLETED")
        shipped_at = next((s.at for s in status.steps if s.step == Step.SHIP), None)
        if shipped_at is None:
            raise NotReturnableError(f"order {order_id} has no shipping time")
        if self._clock() > shipped_at + self._window:
            days = self._window.days
            raise NotReturnableError(
                f"order {order_id} shipped on {shipped_at:%Y-%m-%d}: the {days}-day return "
                "window is over"
            )
        order = (await self._order_input(order_id)).order
        lines = {line.sku: line for line in order.items}
        opened = await asyncio.to_thread(
            self.book.open,
            order_id,
            dict(items),
            shipped={sku: line.quantity for sku, line in lines.items()},
            request_id=request_id or uuid.uuid4().hex,
        )
        rid = return_id(order_id, opened.number)
        record = await asyncio.to_thread(self.book.get, order_id, opened.number)
        held = record.lines if record is not None else dict(items)  # the first request's units
        request = ReturnInput(
            return_id=rid,
            order_id=order_id,
            number=opened.number,
            lines=[
                ReturnLine(sku=sku, quantity=q, unit_price=lines[sku].unit_price)
                for sku, q in held.items()
            ],
            currency=order.currency,
            reason=reason,
            customer_name=order.customer.name,
            email=str(order.customer.email),
            parcel_days=self._parcel_days,
        )
        try:
            await self.temporal.start_workflow(
                ReturnWorkflow.run,
                request,
                id=rid,
                task_queue=self.orders.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"Return {rid}",
            )
        except WorkflowAlreadyStartedError:
            return await self.status(rid)  # the same request, already finished
        requested = ReturnStatus(
            return_id=rid,
            order_id=order_id,
            state=ReturnState.REQUESTED,
            items=request.lines,
            currency=order.currency,
        )
        if opened.created:
            return requested
        try:
            return await self.status(rid)  # the same request again: where that return is now
        except NoWorkerError:
            return requested

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

    async def _update(self, rid: str, update: Any, request: Any) -> ReturnUpdateResponse:
        description = await self._describe(rid)
        if description.status != WorkflowExecutionStatus.RUNNING:
            final = await self.status(rid)
            return ReturnUpdateResponse(
                accepted=False, state=final.state, message=f"return is already {final.state}"
            )
        try:
            answer: ReturnUpdateResponse = await self._handle(rid).execute_update(
                update, request, rpc_timeout=UPDATE_TIMEOUT
            )
            return answer
        except WorkflowUpdateFailedError as exc:  # the validator said no
            final = await self.status(rid)
            return ReturnUpdateResponse(accepted=False, state=final.state, message=str(exc.cause))
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise NoWorkerError(
                f"no worker answered within {UPDATE_TIMEOUT}; it may still apply: "
                f"check `oms return status {rid}`"
            ) from None
