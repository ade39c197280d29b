"""The ceiling: bare workflows started directly (`client.start_workflow` for all, then wait
until visibility shows them all closed) on the same dev server, with the same worker settings
as the product."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench.bare import BareOrderWorkflow
from bench.harness import CEILING_TASK_QUEUE, BenchStack
from bench.history import history_costs, sample
from bench.sampler import ProcessSampler
from bench.stats import closed_executions, cpu_per_order, summarise, wait_closed
from oms.orders.contract import ORDER_STATUS_KEY

WARMUP = 5
HISTORY_SAMPLE = 20
IN_PROGRESS = TypedSearchAttributes([SearchAttributePair(ORDER_STATUS_KEY, "IN_PROGRESS")])


async def _start(client: Client, workflow_id: str) -> WorkflowHandle[Any, str]:
    return await client.start_workflow(
        BareOrderWorkflow.run,
        workflow_id,
        id=workflow_id,
        task_queue=CEILING_TASK_QUEUE,
        search_attributes=IN_PROGRESS,  # as the intake starts an order
    )


async def _run_all(client: Client, prefix: str, count: int, deadline: float) -> bool:
    """Start every workflow concurrently, then wait until all are closed; False on timeout.

    Closed is read from visibility, as for the product: awaiting thousands of results at once
    would hold thousands of long polls, more than the dev server allows a namespace
    ("namespace concurrent poller limit exceeded")."""
    await asyncio.gather(*(_start(client, f"{prefix}{n:05d}") for n in range(count)))
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    return await wait_closed(client, query, count, deadline) >= count


async def measure_ceiling(
    bench: BenchStack, client: Client, *, size: int, workers: int, run_id: str, deadline: float
) -> dict[str, Any]:
    bench.start_bare_workers(workers)
    await bench.wait_for_bare_pollers(client)
    # Warm-up: the first workflow task of a fresh worker pays for the sandbox's imports.
    await _run_all(client, f"bench-warmup-{run_id}-", WARMUP, deadline)
    prefix = f"bench-ceiling-{run_id}-"
    ids = [f"{prefix}{n:05d}" for n in range(size)]
    query = f"WorkflowId STARTS_WITH '{prefix}'"
    with ProcessSampler(bench.pids()) as sampler:
        began = datetime.now(UTC)
        clock = time.monotonic()
        completed = await _run_all(client, prefix, size, deadline)
    measured = time.monotonic()
    await wait_closed(client, query, size, time.monotonic() + 10)  # visibility catches up
    executions = await closed_executions(client, query)
    result = summarise(executions, size=size, began=began, enqueued={})
    result["driver_seconds"] = round(measured - clock, 2)
    result["timed_out"] = not completed
    result["processes"] = sampler.result()
    result["cpu_ms_per_order"] = cpu_per_order(result["processes"], size)
    result["machine"] = sampler.machine()
    result["history"] = await history_costs(client, sample(ids, HISTORY_SAMPLE))
    result["post_seconds"] = round(time.monotonic() - measured, 2)
    return result
