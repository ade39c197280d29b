"""The events Lambda: the events queue's SQS event source in AWS (CONTRACT.md §4).

A thin entry point around `events_handler`, which `oms intake`'s local bridge calls too. The
router (Temporal client, ledger, SQS) is built once per execution environment on a persistent
loop and reused by every invocation; the Temporal client connects lazily, so an outage at cold
start fails the records (SQS delivers them again) rather than the function's initialisation.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from oms.aws import aws_clients
from oms.config import Settings, load_settings
from oms.delivery.tracking import TrackingBook
from oms.events.handler import Handler, events_handler
from oms.events.router import EventRouter
from oms.logs import configure_logging
from oms.loop_thread import LoopThread
from oms.resources import queue_url
from oms.temporal_client import connect

logger = Logger(service="oms-events")
_handler: Handler | None = None


def build_handler(settings: Settings) -> Handler:
    """The batch handler over a router built from `settings` (the Lambda and `oms intake`)."""
    loop = LoopThread("oms-events")
    clients = aws_clients()
    router = EventRouter(
        client=loop.run_sync(connect(settings, lazy=True)),
        tracking=TrackingBook(clients.ledger(settings)),
        sqs=clients.sqs,
        dlq_url=queue_url(clients.sqs, settings.events_dlq),
    )
    return events_handler(router, loop)


def configure(settings: Settings | None = None) -> Handler:
    global _handler  # noqa: PLW0603 - one router per execution environment, by design
    if _handler is None:
        settings = settings or load_settings()
        configure_logging(settings, service="oms-events")
        _handler = build_handler(settings)
    return _handler


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return configure()(event, context)
