"""`python -m bench.bare_worker`: the ceiling's worker process, built like `oms worker`.

Same settings (read from `OMS_*`), same client (`oms.temporal_client.connect`, pydantic data
converter), same executor type and size, same slots, pollers and cache; only the workflow and
activities differ. Runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

from bench.bare import BareOrderWorkflow, noop_step
from oms.config import load_settings
from oms.logs import configure_logging
from oms.temporal_client import connect


async def run() -> None:
    settings = load_settings()
    configure_logging(settings, service="bench-ceiling")
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    threads = settings.max_concurrent_activities  # as in oms.worker: one thread per slot
    with ThreadPoolExecutor(threads, thread_name_prefix="activity") as executor:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[BareOrderWorkflow],
            activities=[noop_step],
            activity_executor=executor,
            max_concurrent_activities=settings.max_concurrent_activities,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
            max_cached_workflows=settings.max_cached_workflows,
            workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(
                settings.workflow_task_pollers
            ),
            activity_task_poller_behavior=PollerBehaviorSimpleMaximum(
                settings.activity_task_pollers
            ),
            graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        )
        running = asyncio.create_task(worker.run())
        await asyncio.wait(
            {running, asyncio.create_task(stop.wait())}, return_when="FIRST_COMPLETED"
        )
        if not running.done():
            await worker.shutdown()
        await running


if __name__ == "__main__":
    asyncio.run(run())
    os._exit(0)  # sdk-python#300: never let interpreter teardown turn success into a crash
