"""One measurement = one fresh stack. The dev server slows down as its database fills (on this
machine the same 100 bare workflows ran 11.4/s on a fresh server and 7.0/s after 500 more), so
the ceiling and the product each get a fresh one: neither pays for the other's history."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.ceiling import measure_ceiling
from bench.coldstart import measure_cold_start
from bench.harness import BenchStack
from bench.product import measure_product
from bench.single import measure_single_ceiling, measure_single_product
from oms.config import Settings

Log = Callable[[str], None]


async def _ceiling(bench: BenchStack, size: int, workers: int, deadline: float) -> dict[str, Any]:
    client = await bench.stack.connect()
    run_id = uuid.uuid4().hex[:6].upper()
    return await measure_ceiling(
        bench, client, size=size, workers=workers, run_id=run_id, deadline=deadline
    )


async def _product(bench: BenchStack, size: int, deadline: float) -> dict[str, Any]:
    client = await bench.stack.connect()
    run_id = uuid.uuid4().hex[:6].upper()
    return await measure_product(bench, client, size=size, run_id=run_id, deadline=deadline)


def ceiling_phase(
    settings: Settings, *, size: int, workers: int, deadline: float, log: Log
) -> dict[str, Any]:
    """Bare workflows on a stack without the product's worker and intake."""
    began = time.monotonic()
    with BenchStack(settings, workers=0, intake=False) as bench:
        log(
            f"ceiling: {size} bare workflows, {workers} worker(s);"
            f" stack up in {bench.started_in:.1f}s"
        )
        figures = asyncio.run(_ceiling(bench, size, workers, deadline))
    figures["stack_start_seconds"] = round(bench.started_in, 2)
    figures["wall_seconds"] = round(time.monotonic() - began, 2)
    return figures


def product_phase(
    settings: Settings,
    *,
    size: int,
    workers: int,
    deadline: float,
    log: Log,
    cold_start: bool = False,
) -> dict[str, Any]:
    """Orders through SQS on a stack with `workers` `oms worker` processes and `oms intake`."""
    began = time.monotonic()
    with BenchStack(settings, workers=workers) as bench:
        log(f"product: {size} orders, {workers} worker(s); stack up in {bench.started_in:.1f}s")
        figures = asyncio.run(_product(bench, size, deadline))
        if cold_start:
            log("starter cold start")
            probe = time.monotonic()
            figures["cold_start"] = measure_cold_start(bench.stack.environment())
            began += time.monotonic() - probe  # not part of the phase's cost per size
    figures["stack_start_seconds"] = round(bench.started_in, 2)
    figures["wall_seconds"] = round(time.monotonic() - began, 2)
    return figures


async def _single(bench: BenchStack, count: int, deadline: float, *, bare: bool) -> dict[str, Any]:
    client = await bench.stack.connect()
    run_id = uuid.uuid4().hex[:6].upper()
    measure = measure_single_ceiling if bare else measure_single_product
    return await measure(bench, client, count=count, run_id=run_id, deadline=deadline)


def single_order_phases(
    settings: Settings, *, count: int, deadline: float, log: Log
) -> dict[str, Any]:
    """Single-order latency, ceiling then product, one at a time, each on a fresh stack with
    one worker (a second one would only sit idle)."""
    figures: dict[str, Any] = {"count": count}
    for what in ("ceiling", "product"):
        began = time.monotonic()
        bare = what == "ceiling"
        with BenchStack(settings, workers=0 if bare else 1, intake=not bare) as bench:
            log(f"single-order latency, {what}: {count} one at a time")
            figures[what] = asyncio.run(_single(bench, count, deadline, bare=bare))
        figures[what]["wall_seconds"] = round(time.monotonic() - began, 2)
    return figures
