"""Worker health: is this worker process alive, and its poll loop running?

Liveness, not Temporal's reachability: during a Temporal outage a live worker keeps retrying
(connect with backoff, the SDK's pollers retry by themselves) and must stay healthy; a health
check that followed Temporal would make ECS replace every task ~90 s into the outage, the
replacements would fail to connect, and the tasks would cycle (a deploy in flight would roll
back). Reachability is reported separately, as a metric with an alarm (`oms.reachability`).

The worker process keeps a small heartbeat file fresh while it is connecting or its `Worker`
runs; the container's health check (`python -m oms.health`, the Dockerfile's HEALTHCHECK and
the ECS task definition) reads it. The heartbeat is written by the event loop itself, so a
wedged loop goes stale too. A file rather than a port: nothing listens, so the task keeps no
inbound port, and the check needs no dependency.

Exit codes of the check: 0 healthy, 1 unhealthy (missing, stale or unreadable heartbeat).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Protocol

import typer

from oms.entrypoint import run_app

DEFAULT_HEALTH_FILE = Path(tempfile.gettempdir()) / "oms-worker.health"
HEARTBEAT_SECONDS = 10.0
# Three missed heartbeats: a busy event loop is not yet unhealthy.
MAX_AGE_SECONDS = 3 * HEARTBEAT_SECONDS

Phase = Literal["connecting", "polling", "stopping"]


class RunningWorker(Protocol):
    @property
    def is_running(self) -> bool: ...


@dataclass
class Liveness:
    """What the worker process is doing; `alive` is what the health check reports."""

    phase: Phase = "connecting"
    worker: RunningWorker | None = None

    def polling(self, worker: RunningWorker) -> None:
        self.phase, self.worker = "polling", worker

    def alive(self) -> bool:
        if self.phase == "connecting":
            return True  # retrying with backoff is alive: Temporal may be down, not us
        if self.phase == "polling":
            return self.worker is not None and self.worker.is_running
        return False


async def report_health(
    liveness: Liveness,
    *,
    path: Path = DEFAULT_HEALTH_FILE,
    interval: float = HEARTBEAT_SECONDS,
) -> None:
    """Until cancelled: refresh the heartbeat while the process is alive (connecting, or its
    poll loop running), remove it otherwise. Cancelling (the worker is stopping) removes it."""
    try:
        while True:
            if liveness.alive():
                write_heartbeat(path, phase=liveness.phase)
            else:
                clear_heartbeat(path)
            await asyncio.sleep(interval)
    finally:
        clear_heartbeat(path)


def write_heartbeat(path: Path, *, now: float | None = None, phase: Phase = "polling") -> None:
    """Atomically (write, then rename): the check never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps({"at": time.time() if now is None else now, "phase": phase}))
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


app = typer.Typer(add_completion=False)


@app.command(help="Exit 0 if the worker process is alive (connecting, or its poll loop running).")
def check(
    file: Annotated[Path, typer.Option(help="the heartbeat file")] = DEFAULT_HEALTH_FILE,
    max_age: Annotated[
        float, typer.Option(metavar="SECONDS", help="oldest heartbeat still alive")
    ] = MAX_AGE_SECONDS,
) -> int:
    age = heartbeat_age(file)
    if age is None:
        sys.stderr.write(f"unhealthy: no heartbeat in {file}\n")
        return 1
    if age > max_age:
        sys.stderr.write(f"unhealthy: last heartbeat {age:.0f} s ago\n")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m oms.health")


if __name__ == "__main__":
    sys.exit(main())
