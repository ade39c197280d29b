"""The long-running processes: `oms worker` and `oms intake`."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import TYPE_CHECKING

from oms.cli.app import app
from oms.config import Settings, load_settings
from oms.logs import configure_logging

if TYPE_CHECKING:
    from oms.events.handler import Handler


@app.command()
def worker() -> None:
    """Run a worker: poll the task queue and run order workflows and activities until SIGTERM."""
    from oms.worker import run_worker  # imported here: the other commands start faster

    settings = load_settings()
    configure_logging(settings, service="oms-worker")
    asyncio.run(run_worker(settings))


@app.command()
def intake() -> None:
    """Run the local intake bridge: long-poll the intake queue and start order workflows with the
    same handler the starter Lambda runs in AWS, until SIGTERM."""
    from oms.intake import starter
    from oms.intake.bridge import IntakeBridge
    from oms.resources import queue_url

    settings = load_settings()
    runtime = starter.configure(settings)  # also sets up logging
    sqs = runtime.intake.sqs
    bridge = IntakeBridge(
        sqs=sqs, queue_url=queue_url(sqs, settings.intake_queue), handler=starter.lambda_handler
    )
    events = IntakeBridge(
        sqs=sqs, queue_url=queue_url(sqs, settings.events_queue), handler=_events_handler(settings)
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # The events queue (carrier events) beside the orders: the same bridge, its own handler.
    events_thread = threading.Thread(target=events.run, args=(stop,), name="events-bridge")
    events_thread.start()
    bridge.run(stop)
    events_thread.join()


def _events_handler(settings: Settings) -> Handler:
    from oms.events.function import build_handler

    return build_handler(settings)
