"""The client half of the order capability: submit, status, cancel, resolve, list.

The intake, the CLI, the demo, the bench and the tests call this; nothing else holds a workflow
handle. Submission goes through the ledger's order entry first, so duplicate detection outlives
Temporal's retention, and a cancellation that arrives before its order is kept and applied.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from oms.orders.contract import (
    ORDER_STATUS_ATTRIBUTE,
    ORDER_STATUS_KEY,
    ORDER_WORKFLOW_TYPE,
    OrderState,
    SearchStatus,
    order_id_from_workflow_id,
    order_workflow_id,
)
from oms.orders.ledger import Ledger
from oms.orders.models import OrderMessage
from oms.orders.payloads import (
    CancelRequest,
    CancelResponse,
    EditRequest,
    EditResponse,
    OrderInput,
    OrderStatus,
    ResolveRequest,
    ResolveResponse,
    ReviewRequest,
    ReviewResponse,
)
from oms.orders.records import OrderEntry, RecordState
from oms.orders.workflow import OrderWorkflow
from oms.polling import PollTimeoutError, poll_until

# Short: a person is waiting, and a query or update with no worker polling waits forever.
QUERY_TIMEOUT: Final = timedelta(seconds=5)
UPDATE_TIMEOUT: Final = timedelta(seconds=10)
START_WAIT: Final = 10.0  # seconds to wait for a claimed order's workflow to appear


class Submission(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


class OrderNotFoundError(LookupError):
    pass


class UnknownOrderError(OrderNotFoundError):
    """A cancel for an order this system has never seen (not even claimed by the intake)."""


class NoWorkerError(RuntimeError):
    """No worker answered a query or update in time."""


class SearchAttributeMissingError(RuntimeError):
    pass


@dataclass(frozen=True)
class OrderSummary:
    order_id: str
    status: str | None  # the OrderStatus search attribute
    workflow_status: str | None
    start_time: datetime
    close_time: datetime | None


@dataclass(frozen=True)
class WorkflowInfo:
    workflow_id: str
    workflow_status: str
    task_queue: str
    start_time: datetime | None
    close_time: datetime | None
    # (activity type, attempt) of each activity running or retrying now: `oms status` says
    # "finishing: emailing (attempt 3)" for an order whose outcome is known but not yet told.
    pending_activities: tuple[tuple[str, int], ...] = ()


class OrderClient:
    def __init__(
        self,
        client: Client,
        ledger: Ledger,
        *,
        task_queue: str,
        attention_after_seconds: int = 300,
        review_above: int | None = None,
        review_timeout: timedelta = timedelta(hours=24),
    ) -> None:
        self.temporal = client
        self.ledger = ledger
        self.task_queue = task_queue
        self._attention_after = attention_after_seconds
        self._review_above = review_above  # OMS_REVIEW_ABOVE, minor units
        self._review_timeout = review_timeout

    # --- submit ---------------------------------------------------------------------------

    async def submit(
        self, order: OrderMessage, *, enqueued_at: datetime | None = None
    ) -> Submission:
        """Start `order-<orderId>` once per order id, ever: a redelivery is a duplicate, the same
        id with another body a conflict, even after the workflow's history is gone."""
        fingerprint = order.fingerprint()
        entry = await asyncio.to_thread(
            self.ledger.update_fields,
            OrderEntry,
            order.order_id,
            set_values={"claimed": True},
            if_absent={"fingerprint": fingerprint, "status": RecordState.RECEIVED},
        )
        assert entry is not None  # no condition: the update always applies
        if entry.fingerprint != fingerprint:
            return Submission.CONFLICT
        if entry.started:
            return Submission.DUPLICATE
        outcome = Submission.STARTED
        try:
            await self.temporal.start_workflow(
                OrderWorkflow.run,
                OrderInput(
                    order=order,
                    enqueued_at=enqueued_at,
                    cancelled_before_start=entry.cancel_reason,
                    attention_after_seconds=self._attention_after,
                    review_above=self._review_above,
                    review_timeout_seconds=int(self._review_timeout.total_seconds()),
                ),
                id=order_workflow_id(order.order_id),
                task_queue=self.task_queue,
                # Any earlier run of this id, running or closed, raises instead of starting again.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(ORDER_STATUS_KEY, SearchStatus.IN_PROGRESS.value)]
                ),
                static_summary=f"Order {order.order_id}",
            )
        except WorkflowAlreadyStartedError:
            outcome = Submission.DUPLICATE  # started by an attempt that died before recording it
        await asyncio.to_thread(
            self.ledger.update_fields, OrderEntry, order.order_id, set_values={"started": True}
        )
        return outcome

    # --- read -----------------------------------------------------------------------------

    def _handle(self, order_id: str) -> WorkflowHandle[Any, OrderStatus]:
        return self.temporal.get_workflow_handle(
            order_workflow_id(order_id), result_type=OrderStatus
        )

    async def _describe(self, order_id: str) -> Any:
        try:
            return await self._handle(order_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise OrderNotFoundError(f"no order {order_id}") from None
            raise

    async def workflow_info(self, order_id: str) -> WorkflowInfo:
        description = await self._describe(order_id)
        return WorkflowInfo(
            workflow_id=description.id,
            workflow_status=description.status.name if description.status else "UNKNOWN",
            task_queue=description.task_queue,
            start_time=description.start_time,
            close_time=description.close_time,
            pending_activities=tuple(
                (pending.activity_type.name, pending.attempt)
                for pending in description.raw_description.pending_activities
            ),
        )

    async def result(self, order_id: str) -> OrderStatus:
        """Wait for the order's outcome (a long poll, no worker needed)."""
        return await self._handle(order_id).result()

    async def status(self, order_id: str) -> OrderStatus:
        """A running order answers its `status` query (needs a worker); a closed one its result."""
        try:
            description = await self._describe(order_id)
        except OrderNotFoundError:
            entry = await asyncio.to_thread(self.ledger.get, OrderEntry, order_id)
            if entry is None or entry.cancel_reason is None:
                raise
            return OrderStatus(
                order_id=order_id,
                state=OrderState.RECEIVED,
                reason=entry.cancel_reason,
                cancel_requested=True,
            )
        handle = self._handle(order_id)
        if description.status == WorkflowExecutionStatus.RUNNING:
            try:
                return await handle.query(OrderWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
            except RPCError as exc:
                if exc.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
                    raise NoWorkerError(
                        self._no_worker("status query", QUERY_TIMEOUT, description.task_queue)
                    ) from None
                raise
            except WorkflowQueryFailedError as exc:
                raise RuntimeError(f"the status query failed: {exc}") from None
        try:
            return await handle.result()
        except WorkflowFailureError as exc:
            # Terminated or timed out in Temporal itself: no result, only why it stopped.
            how = description.status.name.lower() if description.status else "closed"
            return OrderStatus(
                order_id=order_id,
                state=OrderState.FAILED,
                reason=f"workflow {how}: {exc.cause}",
                search_status=_search_status(description),
            )

    async def list(
        self,
        status: SearchStatus | None = None,
        *,
        limit: int = 20,
        started_before: datetime | None = None,
        this_task_queue: bool = False,
    ) -> list[OrderSummary]:
        """Orders, newest first; `started_before`: only those still running that started
        before then; `this_task_queue`: only this deployment's (what `oms doctor` checks)."""
        query = order_query(status)
        if status == SearchStatus.NEEDS_ATTENTION:
            # Every flow on the process core that needs a person (returns, deliveries too: their
            # workflow ids are listed as they are, e.g. delivery-<orderId>-<n>).
            query = f"{ORDER_STATUS_ATTRIBUTE} = '{SearchStatus.NEEDS_ATTENTION.value}'"
        if this_task_queue:
            query += f" AND TaskQueue = '{self.task_queue}'"
        if started_before is not None:
            stamp = started_before.isoformat()  # RFC 3339, to the microsecond
            query += f" AND ExecutionStatus = 'Running' AND StartTime < '{stamp}'"
        try:
            return [
                OrderSummary(
                    order_id=order_id_from_workflow_id(execution.id),
                    status=execution.typed_search_attributes.get(ORDER_STATUS_KEY),
                    workflow_status=execution.status.name if execution.status else None,
                    start_time=execution.start_time,
                    close_time=execution.close_time,
                )
                async for execution in self.temporal.list_workflows(query, limit=limit)
            ]
        except RPCError as exc:
            if (
                exc.status == RPCStatusCode.INVALID_ARGUMENT
                and ORDER_STATUS_ATTRIBUTE in exc.message
            ):
                raise SearchAttributeMissingError(
                    f"the {ORDER_STATUS_ATTRIBUTE} search attribute is not registered on this "
                    "namespace: `temporal operator search-attribute create "
                    f"--name {ORDER_STATUS_ATTRIBUTE} --type Keyword`"
                ) from None
            raise

    # --- change ---------------------------------------------------------------------------

    async def cancel_order(
        self, order_id: str, request: CancelRequest, *, before_start: bool = False
    ) -> CancelResponse:
        """Accepted or rejected at once. An order this system has never seen is refused
        (OrderNotFoundError: a mistyped id must not pass for a cancel); with `before_start`
        it is remembered as cancelled instead: when it arrives it ends CANCELLED with nothing
        reserved or charged."""
        try:
            description = await self._describe(order_id)
        except OrderNotFoundError:
            if not before_start and not await self._known(order_id):
                raise UnknownOrderError(f"no order {order_id}") from None
            kept = await asyncio.to_thread(
                self.ledger.update_fields,
                OrderEntry,
                order_id,
                set_values={"cancelReason": request.reason},
                if_absent={"status": RecordState.RECEIVED},
                condition="attribute_not_exists(claimed)",
            )
            if kept is not None:
                return CancelResponse(
                    accepted=True,
                    state=OrderState.RECEIVED,
                    message="not received yet: it will be cancelled when it arrives",
                )
            description = await self._wait_started(order_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            final = await self.status(order_id)
            return CancelResponse(
                accepted=False, state=final.state, message=f"order is already {final.state}"
            )
        answer = await self._update(
            order_id, OrderWorkflow.cancel, request, "cancel request", description.task_queue
        )
        assert isinstance(answer, CancelResponse)
        return answer

    async def _known(self, order_id: str) -> bool:
        """The ledger has the order: received (being started) or cancelled before start."""
        return await asyncio.to_thread(self.ledger.get, OrderEntry, order_id) is not None

    async def resolve(self, order_id: str, step: str, note: str) -> ResolveResponse:
        description = await self._describe(order_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            final = await self.status(order_id)
            return ResolveResponse(
                accepted=False, message=f"order is already {final.state}: nothing to resolve"
            )
        answer = await self._update(
            order_id,
            OrderWorkflow.resolve,
            ResolveRequest(step=step, note=note),
            "resolve request",
            description.task_queue,
        )
        assert isinstance(answer, ResolveResponse)
        return answer

    async def edit(self, order_id: str, request: EditRequest) -> EditResponse:
        """Change the lines of an order before capture; refused (nothing changes) afterwards,
        or when the new lines are out of stock or their total is declined."""
        description = await self._describe(order_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            final = await self.status(order_id)
            return EditResponse(
                accepted=False, state=final.state, message=f"order is already {final.state}"
            )
        answer = await self._update(
            order_id, OrderWorkflow.edit, request, "edit", description.task_queue
        )
        assert isinstance(answer, EditResponse)
        return answer

    async def review(self, order_id: str, request: ReviewRequest) -> ReviewResponse:
        """Approve or reject an order held IN_REVIEW; refused for any other order."""
        description = await self._describe(order_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            final = await self.status(order_id)
            return ReviewResponse(
                accepted=False, state=final.state, message=f"order is already {final.state}"
            )
        answer = await self._update(
            order_id, OrderWorkflow.review, request, "review decision", description.task_queue
        )
        assert isinstance(answer, ReviewResponse)
        return answer

    async def _update(
        self, order_id: str, update: Any, request: Any, what: str, task_queue: str
    ) -> CancelResponse | ResolveResponse | ReviewResponse | EditResponse:
        try:
            answer: (
                CancelResponse | ResolveResponse | ReviewResponse | EditResponse
            ) = await self._handle(order_id).execute_update(
                update, request, rpc_timeout=UPDATE_TIMEOUT
            )
            return answer
        except WorkflowUpdateFailedError as exc:  # the workflow's validator said no
            return await self._refused(order_id, update, str(exc.cause))
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            # The server keeps the admitted update: a worker that turns up later still applies it.
            no_worker = self._no_worker(what, UPDATE_TIMEOUT, task_queue)
            raise NoWorkerError(
                f"{no_worker}; it may still apply when a worker picks the order up: "
                f"check `oms status {order_id}`"
            ) from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # finished meanwhile
                return await self._refused(order_id, update, None)
            raise

    async def _refused(
        self, order_id: str, update: Any, message: str | None
    ) -> CancelResponse | ResolveResponse | ReviewResponse | EditResponse:
        """The answer of a refused update (`message` None: the order finished meanwhile)."""
        if update is OrderWorkflow.resolve and message is not None:
            return ResolveResponse(accepted=False, message=message)
        final = await self.status(order_id)
        if update is OrderWorkflow.resolve:
            return ResolveResponse(accepted=False, message=f"order is already {final.state}")
        if update is OrderWorkflow.review:
            text = message or f"order is already {final.state}"
            return ReviewResponse(accepted=False, state=final.state, message=text)
        if update is OrderWorkflow.edit:
            text = message or f"order is already {final.state}"
            return EditResponse(accepted=False, state=final.state, message=text)
        text = message or "order is already finished"
        return CancelResponse(accepted=False, state=final.state, message=text)

    async def _wait_started(self, order_id: str) -> Any:
        """The intake claimed the order and is starting it: wait for its workflow."""
        try:
            return await poll_until(
                lambda: self._describe(order_id),
                lambda _: True,
                within=START_WAIT,
                what=f"order {order_id} to start",
                retry_on=(OrderNotFoundError,),
                first=0.2,
                most=0.2,
            )
        except PollTimeoutError:
            raise OrderNotFoundError(
                f"order {order_id} is being received; try again in a moment"
            ) from None

    @staticmethod
    def _no_worker(what: str, timeout: timedelta, task_queue: str) -> str:
        return (
            f"no worker answered the {what} within {timeout.total_seconds():g} s "
            f"(is `oms worker` polling task queue {task_queue}?)"
        )


def order_query(status: SearchStatus | None) -> str:
    """The visibility query for orders (of one `OrderStatus`); the backlog publisher counts
    NEEDS_ATTENTION with it."""
    query = f"WorkflowType = '{ORDER_WORKFLOW_TYPE}'"
    if status is not None:
        query += f" AND {ORDER_STATUS_ATTRIBUTE} = '{status.value}'"
    return query


def _search_status(description: Any) -> SearchStatus | None:
    value = description.typed_search_attributes.get(ORDER_STATUS_KEY)
    try:
        return SearchStatus(value) if value else None
    except ValueError:
        return None
