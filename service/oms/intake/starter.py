"""The starter: AWS Lambda handler for the intake queue's SQS event source.

A thin Powertools batch handler: each record is parsed and turned into one workflow start;
a record that raises is reported in `batchItemFailures` (partial batch response) and only it
is delivered again. Records of a batch are started concurrently. The Temporal client is
created once per execution environment, on a persistent loop, and reused by every invocation.
The local intake bridge (`oms intake`) calls this same handler with SQS-shaped events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from oms import metrics
from oms.aws import aws_clients
from oms.config import Settings, load_settings
from oms.intake.records import Message, OrderIntake, sent_at
from oms.logs import configure_logging
from oms.loop_thread import LoopThread
from oms.metrics import Metric
from oms.orders.client import OrderClient
from oms.orders.ledger import Ledger
from oms.resources import queue_url
from oms.subscriptions.client import SubscriptionClient
from oms.subscriptions.schedule import parse_duration
from oms.temporal_client import connect

logger = Logger(service="oms-starter")
# An outage fails every record: report each one (partial batch response) rather than raise,
# so the response always says exactly which records SQS must deliver again.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass(frozen=True)
class StarterRuntime:
    loop: LoopThread
    intake: OrderIntake
    sdk_metrics: metrics.SdkMetrics | None = None


_runtime: StarterRuntime | None = None


def configure(settings: Settings | None = None) -> StarterRuntime:
    """Build the process-wide runtime once: settings, logging, AWS and Temporal clients.

    The Temporal client connects lazily, so an outage at cold start fails the records (and SQS
    retries them) instead of failing the function's initialisation.
    """
    global _runtime  # noqa: PLW0603 - one runtime per execution environment, by design
    if _runtime is None:
        settings = settings or load_settings()
        configure_logging(settings, service="oms-starter")
        sdk_metrics = metrics.setup(settings.metrics == "emf")  # before the client exists
        loop = LoopThread("oms-starter")
        client = loop.run_sync(connect(settings, lazy=True))
        clients = aws_clients()
        orders = OrderClient(
            client,
            clients.ledger(settings),
            task_queue=settings.task_queue,
            attention_after_seconds=settings.attention_after_seconds,
            review_above=settings.review_above,
            review_timeout=settings.review_timeout,
        )
        intake = OrderIntake(
            orders=orders,
            sqs=clients.sqs,
            dlq_url=queue_url(clients.sqs, settings.dlq),
            subscriptions=subscription_client(client, settings, orders.ledger),
        )
        _runtime = StarterRuntime(loop=loop, intake=intake, sdk_metrics=sdk_metrics)
    return _runtime


def subscription_client(client: Any, settings: Settings, ledger: Ledger) -> SubscriptionClient:
    """The subscriptions' client half with this deployment's settings and ledger."""
    return SubscriptionClient(
        client,
        task_queue=settings.task_queue,
        ledger=ledger,
        minimum_interval=parse_duration(settings.subscription_min_interval),
        reminder=parse_duration(settings.subscription_reminder),
        attention_after_seconds=settings.attention_after_seconds,
    )


async def record_handler(record: SQSRecord) -> str:
    """One record to one order workflow; raising fails only this record."""
    runtime = configure()
    millis = record.attributes.sent_timestamp
    message = Message(
        message_id=record.message_id, body=record.body, sent_at=sent_at(millis) if millis else None
    )
    try:
        outcome = await runtime.loop.run(runtime.intake.accept(message))
    except Exception:
        # Partial batch response: not a Lambda error, so it gets its own metric and alarm.
        metrics.count(Metric.START_FAILED)
        raise
    return outcome.value


def process_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start one workflow per record, concurrently; report the records that raised."""
    response = async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    runtime = configure()
    try:
        return process_batch(event, context)
    finally:
        if runtime.sdk_metrics is not None:  # the SDK's metrics of this invocation, as EMF
            runtime.sdk_metrics.flush()
