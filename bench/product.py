"""The product end to end: orders on the SQS intake queue → `oms intake` (the starter's
handler) → `OrderWorkflow` on the `oms worker` processes → DynamoDB and SES (moto) → closed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import boto3
from temporalio.client import Client

from bench.harness import BenchStack
from bench.history import enqueue_times, history_costs, sample
from bench.sampler import ProcessSampler
from bench.stats import closed_executions, cpu_per_order, percentiles, summarise, wait_closed
from oms.aws import aws_clients
from oms.local.demo import DemoOrder, submit
from oms.local.demo_orders import CATALOGUE, SCENARIOS, order_body
from oms.orders.contract import order_workflow_id

WARMUP = 5
HISTORY_SAMPLE = 20
SKUS = sorted(CATALOGUE)


def happy_orders(prefix: str, count: int) -> list[DemoOrder]:
    """Happy-path orders with two lines each, spread over the catalogue."""
    orders = []
    for n in range(count):
        lines = {SKUS[n % len(SKUS)]: 1 + n % 3, SKUS[(n + 1) % len(SKUS)]: 1}
        order_id = f"{prefix}{n:05d}"
        body = order_body(order_id, lines=lines, customer=n + 1)
        orders.append(DemoOrder(order_id, SCENARIOS["happy"], body))
    return orders


async def _submit_and_wait(
    bench: BenchStack, client: Client, orders: list[DemoOrder], prefix: str, deadline: float
) -> int:
    sqs = aws_clients().sqs
    assert bench.stack.queues is not None
    await asyncio.to_thread(submit, sqs, bench.stack.queues.intake, orders)
    query = f"WorkflowId STARTS_WITH '{order_workflow_id(prefix)}'"
    return await wait_closed(client, query, len(orders), deadline)


def _dlq_depth(bench: BenchStack) -> int:
    assert bench.stack.queues is not None
    attributes = aws_clients().sqs.get_queue_attributes(
        QueueUrl=bench.stack.queues.dlq, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _emails_sent() -> int:
    """Emails SES accepted on this (fresh) stack: moto's send quota counts every recipient."""
    ses = boto3.client("ses")  # endpoint and region from the stack's environment
    return int(ses.get_send_quota()["SentLast24Hours"])


async def measure_product(
    bench: BenchStack, client: Client, *, size: int, run_id: str, deadline: float
) -> dict[str, Any]:
    ledger = aws_clients().ledger(bench.settings)
    for sku in SKUS:  # plenty of stock: every order is a happy path
        ledger.set_stock(sku, 10 * (size + WARMUP) + 100)
    warm_prefix = f"WARMUP-{run_id}-"
    await _submit_and_wait(bench, client, happy_orders(warm_prefix, WARMUP), warm_prefix, deadline)
    prefix = f"BENCH-{run_id}-"
    orders = happy_orders(prefix, size)
    with ProcessSampler(bench.pids()) as sampler:
        began = datetime.now(UTC)
        clock = time.monotonic()
        closed = await _submit_and_wait(bench, client, orders, prefix, deadline)
    measured = time.monotonic()
    executions = await closed_executions(
        client, f"WorkflowId STARTS_WITH '{order_workflow_id(prefix)}'"
    )
    started_ids = sorted(e.workflow_id for e in executions)
    enqueued = await enqueue_times(client, started_ids)
    result = summarise(executions, size=size, began=began, enqueued=enqueued)
    if enqueued:  # the SQS SentTimestamp is ms-precise; the run began before the first one
        result["first_enqueue_after_ms"] = round(
            (min(enqueued.values()) - began).total_seconds() * 1000, 1
        )
    result["intake_delay_ms"] = percentiles(
        [
            (e.start - enqueued[e.workflow_id]).total_seconds()
            for e in executions
            if e.workflow_id in enqueued
        ]
    )
    result["latency_source"] = "workflow close time - OrderInput.enqueued_at (SQS SentTimestamp)"
    result["driver_seconds"] = round(measured - clock, 2)
    result["timed_out"] = closed < size
    result["processes"] = sampler.result()
    result["cpu_ms_per_order"] = cpu_per_order(result["processes"], size)
    result["machine"] = sampler.machine()
    result["emails"] = _emails_sent() - WARMUP  # one per order, the warm-up's aside
    result["dlq"] = _dlq_depth(bench)
    result["history"] = await history_costs(client, sample(started_ids, HISTORY_SAMPLE))
    result["post_seconds"] = round(time.monotonic() - measured, 2)
    return result
