"""Temporal unreachable: only the affected records fail; invalid ones still go to the DLQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from oms.config import Settings
from oms.intake import starter
from oms.intake.bridge import LocalContext
from oms.intake.records import OrderIntake
from oms.local.demo_orders import order_body
from oms.local.stack import free_port
from oms.loop_thread import LoopThread
from oms.ops.dlq import list_dead_letters
from oms.orders.client import OrderClient
from oms.orders.records import OrderEntry
from oms.resources import QueueUrls

from .events import event, record


@pytest.fixture
def unreachable_runtime(
    starter_runtime: starter.StarterRuntime, queues: QueueUrls, settings: Settings
) -> Iterator[starter.StarterRuntime]:
    """The process-wide runtime swapped for one whose Temporal client reaches nothing."""
    loop = LoopThread("unreachable")
    client = loop.run_sync(
        # A port nothing listens on: every call is refused at once.
        Client.connect(
            f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
        )
    )
    orders = OrderClient(
        client, starter_runtime.intake.orders.ledger, task_queue=settings.task_queue
    )
    intake = OrderIntake(orders=orders, sqs=starter_runtime.intake.sqs, dlq_url=queues.dlq)
    runtime = starter.StarterRuntime(loop=loop, intake=intake)
    saved = starter._runtime
    starter._runtime = runtime
    try:
        yield runtime
    finally:
        starter._runtime = saved
        loop.loop.call_soon_threadsafe(loop.loop.stop)


async def test_with_temporal_unreachable_every_valid_record_fails_and_only_those(
    unreachable_runtime: starter.StarterRuntime, queues: QueueUrls
) -> None:
    tag = uuid.uuid4().hex[:8]
    valid = [record(order_body(f"DOWN-{tag}-{i}")) for i in range(3)]
    invalid = record(f"not json {tag}")

    response = await asyncio.to_thread(
        starter.process_batch, event(*valid, invalid), LocalContext()
    )

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert failed == {r["messageId"] for r in valid}
    letters = [
        d for d in list_dead_letters(unreachable_runtime.intake.sqs, queues.dlq) if tag in d.body
    ]
    assert [d.body for d in letters] == [invalid["body"]]
    # Claimed in the ledger but not started: the redelivery will start it.
    order_id = json.loads(valid[0]["body"])["orderId"]
    entry = unreachable_runtime.intake.orders.ledger.get(OrderEntry, order_id)
    assert entry is not None
    assert (entry.claimed, entry.started) == (True, False)


async def test_a_record_that_failed_in_an_outage_starts_when_redelivered(
    unreachable_runtime: starter.StarterRuntime, starter_runtime: starter.StarterRuntime
) -> None:
    body = record(order_body(f"LATER-{uuid.uuid4().hex[:8]}"))
    down = await asyncio.to_thread(starter.process_batch, event(body), LocalContext())
    assert [i["itemIdentifier"] for i in down["batchItemFailures"]] == [body["messageId"]]

    starter._runtime = starter_runtime  # Temporal is back; SQS delivers the record again
    again = await asyncio.to_thread(starter.process_batch, event(body), LocalContext())

    assert again == {"batchItemFailures": []}
    orders = starter_runtime.intake.orders
    info = await orders.workflow_info(json.loads(body["body"])["orderId"])
    assert info.workflow_status in ("RUNNING", "COMPLETED")


async def test_a_batch_that_fails_entirely_reports_every_record(
    unreachable_runtime: starter.StarterRuntime,
) -> None:
    records = [record(order_body(f"ALLDOWN-{uuid.uuid4().hex[:8]}")) for _ in range(4)]

    response = await asyncio.to_thread(starter.process_batch, event(*records), LocalContext())

    assert sorted(item["itemIdentifier"] for item in response["batchItemFailures"]) == sorted(
        r["messageId"] for r in records
    )
