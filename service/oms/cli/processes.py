"""The long-running processes: `oms worker` and `oms intake`."""

from __future__ import annotations

import asyncio

from oms.cli.app import app
from oms.config import load_settings
from oms.logs import configure_logging


@app.command()
def worker() -> None:
    """Run a worker: poll the task queue and run order workflows and activities until SIGTERM."""
    from oms.worker import run_worker  # imported here: the other commands start faster

    settings = load_settings()
    configure_logging(settings, service="oms-worker")
    asyncio.run(run_worker(settings))
