"""Worker health: is this worker connected to Temporal and polling its task queue?

The worker process keeps a small heartbeat file fresh while its `Worker` runs and the Temporal
frontend answers; the container's health check (`python -m oms.health`, the Dockerfile's
HEALTHCHECK and the ECS task definition) reads it. A file rather than a port: nothing listens,
so the task keeps no inbound port, and the check needs no dependency.

Exit codes of the check: 0 healthy, 1 unhealthy (missing, stale or unreadable heartbeat).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from temporalio.client import Client

log = logging.getLogger("oms.health")

DEFAULT_HEALTH_FILE = Path(tempfile.gettempdir()) / "oms-worker.health"
HEARTBEAT_SECONDS = 10.0
# Three missed heartbeats: a slow frontend call or a busy event loop is not yet unhealthy.
MAX_AGE_SECONDS = 3 * HEARTBEAT_SECONDS
PROBE_TIMEOUT = timedelta(seconds=5)


class RunningWorker(Protocol):
    @property
    def is_running(self) -> bool: ...


async def frontend_answers(client: Client) -> bool:
    """One cheap, non-billable call (GetSystemInfo) to the namespace's frontend."""
    # Imported here: the health check command (every 30 s) then loads no SDK at all.
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest  # noqa: PLC0415

    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=PROBE_TIMEOUT)
    except Exception as exc:
        log.warning("health: Temporal frontend unreachable: %s", exc)
        return False
    return True


async def report_health(
    client: Client,
    worker: RunningWorker,
    *,
    path: Path = DEFAULT_HEALTH_FILE,
    interval: float = HEARTBEAT_SECONDS,
) -> None:
    """Until cancelled: refresh the heartbeat while the worker polls and Temporal answers,
    remove it otherwise. Cancelling (the worker is stopping) removes it."""
    try:
        while True:
            if worker.is_running and await frontend_answers(client):
                write_heartbeat(path)
            else:
                clear_heartbeat(path)
            await asyncio.sleep(interval)
    finally:
        clear_heartbeat(path)


def write_heartbeat(path: Path, *, now: float | None = None) -> None:
    """Atomically (write, then rename): the check never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps({"at": time.time() if now is None else now}))
    scratch.replace(path)


def clear_heartbeat(path: Path) -> None:
    path.unlink(missing_ok=True)


def heartbeat_age(path: Path, *, now: float | None = None) -> float | None:
    """Seconds since the last heartbeat, or None without a readable one."""
    try:
        at = float(json.loads(path.read_text())["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (time.time() if now is None else now) - at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oms.health", description="Exit 0 if the worker is connected and polling."
    )
    parser.add_argument("--file", type=Path, default=DEFAULT_HEALTH_FILE)
    parser.add_argument("--max-age", type=float, default=MAX_AGE_SECONDS, metavar="SECONDS")
    args = parser.parse_args(argv)
    age = heartbeat_age(args.file)
    if age is None:
        sys.stderr.write(f"unhealthy: no heartbeat in {args.file}\n")
        return 1
    if age > args.max_age:
        sys.stderr.write(f"unhealthy: last heartbeat {age:.0f} s ago\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
