"""A fresh local stack per measurement, on free ports, with the ceiling's worker beside it."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from oms.config import Settings
from oms.local.children import Child
from oms.local.stack import LocalStack, StackOptions, free_port

CEILING_TASK_QUEUE = "bench-ceiling"
STATE_DIR = Path(".oms") / "bench"


@dataclass
class BenchStack:
    """A `LocalStack` (dev server, moto, N `oms worker`, `oms intake`) plus the bare worker."""

    settings: Settings
    workers: int = 1
    intake: bool = True
    ready_timeout: float = 90.0
    stack: LocalStack = field(init=False)
    bare: list[Child] = field(default_factory=list)
    started_in: float = 0.0

    def __post_init__(self) -> None:
        options = StackOptions(
            temporal_port=free_port(),
            ui_port=free_port(),
            aws_port=free_port(),
            workers=self.workers,
            intake=self.intake,
            state_dir=STATE_DIR,
            persist=False,  # a fresh in-memory server per phase, as before
            ready_timeout=self.ready_timeout,
        )
        self.stack = LocalStack(options, self.settings)

    def __enter__(self) -> BenchStack:
        began = time.perf_counter()
        self.stack.start()  # polls readiness with deadlines; stops what it started on failure
        self.started_in = time.perf_counter() - began
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stack.stop()

    def start_bare_workers(self, count: int) -> None:
        """The ceiling's workers: as many as the product's, same settings, own task queue."""
        env = {**os.environ, **self.stack.environment(), "OMS_TASK_QUEUE": CEILING_TASK_QUEUE}
        for n in range(count):
            command = [sys.executable, "-m", "bench.bare_worker"]
            self.bare.append(self.stack.children.start(f"bare-worker-{n + 1}", command, env))

    async def wait_for_bare_pollers(self, client: Client) -> None:
        await wait_for_pollers(client, CEILING_TASK_QUEUE, self.bare, self.ready_timeout)

    def pids(self) -> dict[str, int]:
        """Every live child by role name: temporal, aws, worker-N, intake, bare-worker-N."""
        return {c.name: c.pid for c in self.stack.children.running if c.alive()}


async def wait_for_pollers(
    client: Client, task_queue: str, children: list[Child], ready_timeout: float
) -> None:
    """Ready means polling the task queue (both workflow and activity tasks), not just started."""
    deadline = time.monotonic() + ready_timeout
    kinds = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    while True:
        ready = True
        for kind in kinds:
            request = DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=kind,
            )
            pollers = (await client.workflow_service.describe_task_queue(request)).pollers
            ready = ready and len({p.identity for p in pollers}) >= len(children)
        if ready:
            return
        dead = [c for c in children if not c.alive()]
        if dead:
            raise RuntimeError(f"{dead[0].name} exited during start-up:\n{dead[0].log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no worker polled {task_queue} within {ready_timeout:.0f}s")
        await asyncio.sleep(0.1)
