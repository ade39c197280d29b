"""Single-order latency: N orders one at a time (submit, await the outcome, then the next), with
zero step latency, so nothing queues behind anything. Unlike a burst's p50, this is what one
order costs end to end on an idle system: product vs the bare workflow, each on a fresh stack.

The figures come from Temporal, as for a burst: the ceiling's latency is close - start of each
workflow (the start is its submission); the product's is close - `OrderInput.enqueued_at` (the
SQS SentTimestamp), so it includes the intake's SQS receive and the start. The driver's own
round trip (submit → result received) is reported beside it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from bench.bare import BareOrderWorkflow
from bench.ceiling import IN_PROGRESS
from bench.harness import CEILING_TASK_QUEUE, BenchStack
from bench.history import enqueue_times
from bench.product import SKUS, happy_orders
from bench.stats import closed_executions, percentiles, summarise
from oms.aws import aws_clients
from oms.local.demo import DemoOrder, submit
from oms.orders.contract import order_workflow_id

WARMUP = 5
POLL = 0.02  # seconds between looks for a product workflow the intake has not started yet


async def _outcome(handle: WorkflowHandle[Any, Any], deadline: float) -> None:
    """Wait for the workflow's close event (one long poll), once the workflow exists."""
    while True:
        try:
            await handle.result()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            await asyncio.sleep(POLL)
            continue
        except WorkflowFailureError:  # an outcome too: summarise() counts the statuses
            return
        return


def _figures(
    executions: list[Any], count: int, began: datetime, round_trips: list[float], **extra: Any
) -> dict[str, Any]:
    result = summarise(executions, size=count, began=began, enqueued=extra.pop("enqueued", {}))
    result.pop("throughput", None)  # one at a time: a rate says nothing here
    result["driver_round_trip_ms"] = percentiles(round_trips)
    return result | extra


async def measure_single_ceiling(
    bench: BenchStack, client: Client, *, count: int, run_id: str, deadline: float
) -> dict[str, Any]:
    bench.start_bare_workers(1)
    await bench.wait_for_bare_pollers(client)

    async def one(workflow_id: str) -> float:
        began = time.perf_counter()
        handle = await client.start_workflow(
            BareOrderWorkflow.run,
            workflow_id,
            id=workflow_id,
            task_queue=CEILING_TASK_QUEUE,
            search_attributes=IN_PROGRESS,
        )
        await _outcome(handle, deadline)
        return time.perf_counter() - began

    for n in range(WARMUP):
        await one(f"bench-single-warmup-{run_id}-{n}")
    prefix = f"bench-single-{run_id}-"
    began = datetime.now(UTC)
    round_trips = []
    for n in range(count):
        if time.monotonic() > deadline:
            break
        round_trips.append(await one(f"{prefix}{n:05d}"))
    executions = await closed_executions(client, f"WorkflowId STARTS_WITH '{prefix}'")
    return _figures(
        executions,
        count,
        began,
        round_trips,
        timed_out=len(round_trips) < count,
        latency_source="workflow close time - workflow start time",
    )


async def measure_single_product(
    bench: BenchStack, client: Client, *, count: int, run_id: str, deadline: float
) -> dict[str, Any]:
    clients = aws_clients()
    ledger = clients.ledger(bench.settings)
    for sku in SKUS:
        ledger.set_stock(sku, 10 * (count + WARMUP) + 100)
    assert bench.stack.queues is not None
    queue = bench.stack.queues.intake

    async def one(order: DemoOrder) -> float:
        began = time.perf_counter()
        await asyncio.to_thread(submit, clients.sqs, queue, [order])
        handle = client.get_workflow_handle(order_workflow_id(order.order_id))
        await _outcome(handle, deadline)
        return time.perf_counter() - began

    for order in happy_orders(f"SWARM-{run_id}-", WARMUP):
        await one(order)
    prefix = f"SINGLE-{run_id}-"
    began = datetime.now(UTC)
    round_trips = []
    for order in happy_orders(prefix, count):
        if time.monotonic() > deadline:
            break
        round_trips.append(await one(order))
    executions = await closed_executions(
        client, f"WorkflowId STARTS_WITH '{order_workflow_id(prefix)}'"
    )
    enqueued = await enqueue_times(client, sorted(e.workflow_id for e in executions))
    return _figures(
        executions,
        count,
        began,
        round_trips,
        enqueued=enqueued,
        intake_delay_ms=percentiles(
            [
                (e.start - enqueued[e.workflow_id]).total_seconds()
                for e in executions
                if e.workflow_id in enqueued
            ]
        ),
        timed_out=len(round_trips) < count,
        latency_source="workflow close time - OrderInput.enqueued_at (SQS SentTimestamp)",
    )
