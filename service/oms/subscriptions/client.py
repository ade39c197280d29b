"""The client half of subscriptions: create, status, pause, resume, skip, change, cancel, list.
The intake, the CLI, the demo and the tests call this; nothing else holds a subscription handle.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from oms.orders.client import QUERY_TIMEOUT, UPDATE_TIMEOUT, NoWorkerError
from oms.records import RecordState
from oms.subscriptions.contract import (
    SUBSCRIPTION_STATUS_ATTRIBUTE,
    SUBSCRIPTION_STATUS_KEY,
    SUBSCRIPTION_WORKFLOW_TYPE,
    SubscriptionState,
    subscription_id_from_workflow_id,
    subscription_workflow_id,
)
from oms.subscriptions.models import SubscriptionMessage
from oms.subscriptions.payloads import (
    CancelSubscriptionRequest,
    ChangeRequest,
    PauseRequest,
    ResumeRequest,
    SkipRequest,
    SubscriptionInput,
    SubscriptionStatus,
    SubscriptionUpdateResponse,
)
from oms.subscriptions.records import SubscriptionEntry
from oms.subscriptions.schedule import parse_interval
from oms.subscriptions.workflow import SubscriptionWorkflow

if TYPE_CHECKING:
    from oms.orders.ledger import Ledger

PRODUCTION_MINIMUM: Final = timedelta(days=1)


class SubscriptionNotFoundError(LookupError):
    pass


class IntervalTooShortError(ValueError):
    pass


class Created(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"  # the id was received before with another body: the first is kept


@dataclass(frozen=True)
class SubscriptionSummary:
    subscription_id: str
    state: str | None  # the SubscriptionStatus search attribute
    workflow_status: str | None
    start_time: datetime


class SubscriptionClient:
    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        ledger: Ledger | None = None,
        minimum_interval: timedelta = PRODUCTION_MINIMUM,
        reminder: timedelta = timedelta(days=3),
        attention_after_seconds: int = 300,
    ) -> None:
        self.temporal = client
        self.task_queue = task_queue
        self.ledger = ledger
        self._minimum = minimum_interval
        self._reminder = reminder
        self._attention_after = attention_after_seconds

    def check(self, message: SubscriptionMessage) -> None:
        """The deployment's minimum interval (P1D; `oms dev` lowers it to PT10S)."""
        if parse_interval(message.interval).approximate < self._minimum:
            raise IntervalTooShortError(
                f"interval: {message.interval} is shorter than this deployment's minimum "
                f"({self._minimum}, OMS_SUBSCRIPTION_MIN_INTERVAL)"
            )

    async def create(self, message: SubscriptionMessage) -> Created:
        """Start `subscription-<subscriptionId>` once: a redelivery is a duplicate, the same id
        with another body a conflict (the id is claimed in the ledger with the body's
        fingerprint first, as an order's is; without a ledger only Temporal's id check holds)."""
        self.check(message)
        if self.ledger is not None:
            fingerprint = message.fingerprint()
            entry = await asyncio.to_thread(
                self.ledger.update_fields,
                SubscriptionEntry,
                message.subscription_id,
                if_absent={"fingerprint": fingerprint, "status": RecordState.RECEIVED},
            )
            if entry is None or entry.fingerprint != fingerprint:
                return Created.CONFLICT
        try:
            await self.temporal.start_workflow(
                SubscriptionWorkflow.run,
                SubscriptionInput(
                    message=message,
                    reminder_seconds=int(self._reminder.total_seconds()),
                    attention_after_seconds=self._attention_after,
                ),
                id=subscription_workflow_id(message.subscription_id),
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(SUBSCRIPTION_STATUS_KEY, SubscriptionState.ACTIVE.value)]
                ),
                static_summary=f"Subscription {message.subscription_id}",
            )
        except WorkflowAlreadyStartedError:
            return Created.DUPLICATE
        return Created.STARTED

    def _handle(self, sid: str) -> WorkflowHandle[Any, SubscriptionStatus]:
        return self.temporal.get_workflow_handle(
            subscription_workflow_id(sid), result_type=SubscriptionStatus
        )

    async def _describe(self, sid: str) -> Any:
        try:
            return await self._handle(sid).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise SubscriptionNotFoundError(f"no subscription {sid}") from None
            raise

    async def result(self, sid: str) -> SubscriptionStatus:
        return await self._handle(sid).result()

    async def status(self, sid: str) -> SubscriptionStatus:
        description = await self._describe(sid)
        handle = self._handle(sid)
        if description.status == WorkflowExecutionStatus.RUNNING:
            try:
                return await handle.query(SubscriptionWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
            except RPCError as exc:
                if exc.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
                    raise NoWorkerError(
                        f"no worker answered the status query within {QUERY_TIMEOUT} "
                        f"(is `oms worker` polling task queue {description.task_queue}?)"
                    ) from None
                raise
        return await handle.result()

    async def pause(self, sid: str, reason: str) -> SubscriptionUpdateResponse:
        return await self._update(sid, SubscriptionWorkflow.pause, PauseRequest(reason=reason))

    async def resume(self, sid: str, token: str | None = None) -> SubscriptionUpdateResponse:
        return await self._update(sid, SubscriptionWorkflow.resume, ResumeRequest(token=token))

    async def skip(self, sid: str) -> SubscriptionUpdateResponse:
        return await self._update(sid, SubscriptionWorkflow.skip, SkipRequest())

    async def change(self, sid: str, items: dict[str, int]) -> SubscriptionUpdateResponse:
        return await self._update(sid, SubscriptionWorkflow.change, ChangeRequest(items=items))

    async def cancel(self, sid: str, reason: str) -> SubscriptionUpdateResponse:
        request = CancelSubscriptionRequest(reason=reason)
        return await self._update(sid, SubscriptionWorkflow.cancel, request)

    async def _update(self, sid: str, update: Any, request: Any) -> SubscriptionUpdateResponse:
        description = await self._describe(sid)
        if description.status != WorkflowExecutionStatus.RUNNING:
            final = await self.status(sid)
            return SubscriptionUpdateResponse(
                accepted=False, state=final.state, message=f"subscription is already {final.state}"
            )
        try:
            answer: SubscriptionUpdateResponse = await self._handle(sid).execute_update(
                update, request, rpc_timeout=UPDATE_TIMEOUT
            )
            return answer
        except WorkflowUpdateFailedError as exc:  # the workflow's validator said no
            state = await self._state(sid)
            why = exc.cause.message if isinstance(exc.cause, ApplicationError) else str(exc.cause)
            return SubscriptionUpdateResponse(accepted=False, state=state, message=why)
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise NoWorkerError(
                f"no worker answered within {UPDATE_TIMEOUT} (is `oms worker` polling task "
                f"queue {description.task_queue}?); check `oms subscription status {sid}`"
            ) from None

    async def _state(self, sid: str) -> SubscriptionState:
        value = (await self._describe(sid)).typed_search_attributes.get(SUBSCRIPTION_STATUS_KEY)
        return SubscriptionState(value) if value else SubscriptionState.ACTIVE

    async def list(
        self, state: SubscriptionState | None = None, *, limit: int = 20
    ) -> list[SubscriptionSummary]:
        # Every cycle is a run of the same id; the earlier runs keep their state of then.
        query = (
            f"WorkflowType = '{SUBSCRIPTION_WORKFLOW_TYPE}' AND ExecutionStatus != 'ContinuedAsNew'"
        )
        if state is not None:
            query += f" AND {SUBSCRIPTION_STATUS_ATTRIBUTE} = '{state.value}'"
        seen: set[str] = set()
        found: list[SubscriptionSummary] = []
        async for execution in self.temporal.list_workflows(query):
            if execution.id in seen:
                continue
            seen.add(execution.id)
            found.append(
                SubscriptionSummary(
                    subscription_id=subscription_id_from_workflow_id(execution.id),
                    state=execution.typed_search_attributes.get(SUBSCRIPTION_STATUS_KEY),
                    workflow_status=execution.status.name if execution.status else None,
                    start_time=execution.start_time,
                )
            )
            if len(found) >= limit:
                break
        return found
