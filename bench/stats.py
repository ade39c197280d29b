"""Figures from closed executions: throughput, latency percentiles, outcomes."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.client import Client

from oms.orders.contract import ORDER_STATUS_KEY


@dataclass(frozen=True)
class Closed:
    workflow_id: str
    start: datetime
    close: datetime | None
    status: str
    order_status: str | None


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds (inclusive method: exact for small samples)."""
    if not values:
        return {}
    ms = sorted(v * 1000 for v in values)
    if len(ms) == 1:
        return dict.fromkeys(("p50", "p95", "p99", "max"), round(ms[0], 1))
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 1),
        "p95": round(cuts[94], 1),
        "p99": round(cuts[98], 1),
        "max": round(ms[-1], 1),
    }


async def wait_closed(client: Client, query: str, expected: int, deadline: float) -> int:
    """Poll visibility until `expected` executions matching `query` are closed, or the deadline
    (a monotonic time) passes; returns how many closed."""
    closed_query = f"{query} AND ExecutionStatus != 'Running'"
    while True:
        closed = (await client.count_workflows(closed_query)).count
        if closed >= expected or time.monotonic() > deadline:
            return closed
        await asyncio.sleep(0.25)


async def closed_executions(client: Client, query: str) -> list[Closed]:
    found = []
    async for execution in client.list_workflows(query):
        found.append(
            Closed(
                workflow_id=execution.id,
                start=execution.start_time,
                close=execution.close_time,
                status=execution.status.name if execution.status else "UNKNOWN",
                order_status=execution.typed_search_attributes.get(ORDER_STATUS_KEY),
            )
        )
    return found


def summarise(
    executions: list[Closed], *, size: int, began: datetime, enqueued: dict[str, datetime]
) -> dict[str, Any]:
    """Throughput from `began` (the first submission) to the last close; latency per order from
    its enqueue time (`enqueued`, by workflow id; the workflow's start time when absent)."""
    done = [e for e in executions if e.close is not None]
    if not done:
        return {"size": size, "completed": 0, "throughput": 0.0}
    last = max(e.close for e in done if e.close is not None)
    seconds = (last - began).total_seconds()
    latencies = [
        (e.close - enqueued.get(e.workflow_id, e.start)).total_seconds()
        for e in done
        if e.close is not None
    ]
    return {
        "size": size,
        "completed": len(done),
        "seconds": round(seconds, 2),
        "throughput": round(len(done) / seconds, 2) if seconds > 0 else 0.0,
        "latency_ms": percentiles(latencies),
        "statuses": dict(Counter(e.status for e in done)),
        "outcomes": dict(Counter(e.order_status or "-" for e in done)),
    }


def cpu_per_order(processes: dict[str, Any], size: int) -> dict[str, float]:
    """CPU milliseconds per order by role (worker-N and bare-worker-N summed), and in total.
    Steadier than throughput on a shared machine: it does not count time spent waiting."""
    roles: dict[str, float] = {}
    for name, figures in processes.items():
        role = name.rsplit("-", 1)[0] if name[-1].isdigit() else name
        roles[role] = roles.get(role, 0.0) + figures["cpu_seconds"]
    per_order = {role: round(seconds * 1000 / size, 1) for role, seconds in roles.items()}
    per_order["total"] = round(sum(roles.values()) * 1000 / size, 1)
    return per_order


def cpu_ratios(ceiling: dict[str, Any], product: dict[str, Any]) -> dict[str, float | None]:
    """CPU per order of the product over the ceiling's: everything, and without moto and the
    load generator (what the orchestration itself costs: workers, intake, dev server)."""
    c, p = ceiling.get("cpu_ms_per_order", {}), product.get("cpu_ms_per_order", {})

    def without_emulator(figures: dict[str, float]) -> float:
        return figures.get("total", 0.0) - figures.get("aws", 0.0) - figures.get("driver", 0.0)

    def ratio(numerator: float, denominator: float) -> float | None:
        return round(numerator / denominator, 2) if denominator else None

    return {
        "all": ratio(p.get("total", 0.0), c.get("total", 0.0)),
        "without_moto": ratio(without_emulator(p), without_emulator(c)),
    }
