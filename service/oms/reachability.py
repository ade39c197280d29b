"""Can this worker reach Temporal? A metric and a log line, never the health check.

A worker that cannot reach Temporal is still alive (its pollers retry), so this is reported as
the `TemporalReachable` gauge (1 or 0, dimension TaskQueue) for the `TemporalUnreachable`
alarm, and logged when it changes, instead of failing the container (`oms.health`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from oms import metrics
from oms.metrics import Metric

if TYPE_CHECKING:
    from temporalio.client import Client

log = logging.getLogger("oms.reachability")

PROBE_SECONDS = 30.0
PROBE_TIMEOUT = timedelta(seconds=5)


def frontend_probe(client: Client) -> Callable[[], Awaitable[bool]]:
    """One cheap, non-billable call (GetSystemInfo) to the namespace's frontend."""
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest  # noqa: PLC0415

    async def answers() -> bool:
        try:
            await client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=PROBE_TIMEOUT
            )
        except Exception as exc:  # any failure is "unreachable"; the reason goes to the log
            log.debug("Temporal probe failed: %s", exc)
            return False
        return True

    return answers


async def report_reachability(
    probe: Callable[[], Awaitable[bool]],
    *,
    task_queue: str,
    interval: float = PROBE_SECONDS,
) -> None:
    """Until cancelled: probe, write the gauge, log each change (not every probe)."""
    last: bool | None = None
    while True:
        reachable = await probe()
        metrics.gauge(Metric.TEMPORAL_REACHABLE, 1 if reachable else 0, TaskQueue=task_queue)
        if reachable != last:
            if reachable:
                log.info("Temporal reachable")
            else:
                log.warning("Temporal unreachable: the worker keeps retrying")
            last = reachable
        await asyncio.sleep(interval)
