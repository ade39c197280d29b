"""What an order costs in Temporal: history events and billable actions, read from histories.

Billable actions, as Temporal Cloud counts them (https://docs.temporal.io/cloud/actions),
estimated from the history:

- workflow started (also a continue-as-new or child workflow start): 1
- each activity scheduled: 1; each retry is another attempt and another action: an
  `ActivityTaskStarted` event carries the attempt that finally ran, so it adds `attempt - 1`
- each `UpsertWorkflowSearchAttributes`: 1
- each signal, each accepted update: 1 (queries are actions too but leave no history event;
  the benchmark sends none)
- each timer: 1; each marker (local activities, side effects): 1
- signals/cancels sent to other workflows: 1 each

Workflow tasks, completions and activity results are not actions. Heartbeats are, but leave no
event; the product's activities do not heartbeat.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from oms.orders.payloads import OrderInput

ONE_ACTION = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_MARKER_RECORDED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
}
CONCURRENCY = 32


def actions(events: list[HistoryEvent]) -> int:
    total = 0
    for event in events:
        if event.event_type in ONE_ACTION:
            total += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            total += max(0, event.activity_task_started_event_attributes.attempt - 1)
    return total


def sample(ids: list[str], count: int) -> list[str]:
    """`count` ids spread evenly over the run (first, last and between)."""
    if len(ids) <= count:
        return list(ids)
    step = (len(ids) - 1) / (count - 1)
    return [ids[round(i * step)] for i in range(count)]


async def history_costs(client: Client, workflow_ids: list[str]) -> dict[str, Any]:
    """Events and estimated actions per workflow over `workflow_ids` (mean, min, max)."""
    histories = await asyncio.gather(
        *(client.get_workflow_handle(wid).fetch_history() for wid in workflow_ids)
    )
    events = [len(h.events) for h in histories]
    costs = [actions(list(h.events)) for h in histories]
    kinds: Counter[str] = Counter()
    for history in histories:
        kinds.update(
            EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events
        )
    n = len(histories)
    return {
        "sampled": n,
        "events": {
            "mean": round(statistics.fmean(events), 2),
            "min": min(events),
            "max": max(events),
        },
        "actions": {
            "mean": round(statistics.fmean(costs), 2),
            "min": min(costs),
            "max": max(costs),
        },
        "event_types_per_workflow": {k: round(v / n, 2) for k, v in sorted(kinds.items())},
    }


async def enqueue_times(client: Client, workflow_ids: list[str]) -> dict[str, datetime]:
    """`OrderInput.enqueued_at` (the SQS SentTimestamp) of each order, from the first event of
    its history only (one event per request, so this stays cheap for thousands of orders)."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(workflow_id: str) -> tuple[str, datetime | None]:
        request = GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id),
            maximum_page_size=1,
        )
        async with limit:
            response = await client.workflow_service.get_workflow_execution_history(request)
        started = response.history.events[0].workflow_execution_started_event_attributes
        [order_input] = await client.data_converter.decode(started.input.payloads, [OrderInput])
        return workflow_id, order_input.enqueued_at

    pairs = await asyncio.gather(*(one(wid) for wid in workflow_ids))
    return {wid: at for wid, at in pairs if at is not None}
