"""The local intake bridge over moto's SQS: nothing is lost, and an outage heals by itself."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.intake import starter
from oms.intake.bridge import IntakeBridge
from oms.local.binaries import temporal_cli
from oms.local.demo_orders import order_body
from oms.local.stack import free_port
from oms.ops.dlq import list_dead_letters
from oms.orders.contract import order_workflow_id
from oms.orders.ledger import Ledger
from oms.orders.models import InvalidOrderError, parse_order
from oms.orders.records import OrderEntry
from oms.resources import QueueUrls, ensure_queues

from ..conftest import process_env

pytestmark = pytest.mark.e2e


def private_queues(clients: AwsClients, settings: Settings) -> tuple[Settings, QueueUrls]:
    tag = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"intake_queue": f"intake-{tag}", "dlq": f"dlq-{tag}"})
    return own, ensure_queues(clients.sqs, own)


def queue_is_empty(sqs: Any, url: str) -> bool:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(value) == 0 for value in attributes.values())


async def fingerprint(client: Client, ledger: Ledger, order_id: str) -> str | None:
    """The fingerprint of the order's started workflow (kept in the ledger), if it started."""
    try:
        await client.get_workflow_handle(order_workflow_id(order_id)).describe()
    except RPCError:
        return None
    entry = await asyncio.to_thread(ledger.get, OrderEntry, order_id)
    return entry.fingerprint if entry is not None and entry.started else None


async def test_every_message_ends_as_a_workflow_or_in_the_dlq(
    starter_runtime: starter.StarterRuntime,
    dev_env: WorkflowEnvironment,
    clients: AwsClients,
    settings: Settings,
    queues: QueueUrls,
) -> None:
    _, urls = private_queues(clients, settings)
    tag = uuid.uuid4().hex[:6]
    valid = [order_body(f"ACC-{tag}-{i}", customer=i) for i in range(25)]
    bodies = [json.dumps(b) for b in valid]
    bodies += [json.dumps(valid[i]) for i in range(5)]  # redeliveries
    bodies += [
        json.dumps(order_body(f"ACC-{tag}-{i}", lines={"SOCKS-3PK": 9})) for i in range(5, 10)
    ]
    bodies += [f'{{"orderId": "ACC-{tag}-bad-{i}"' for i in range(5)]  # truncated JSON
    for start in range(0, len(bodies), 10):
        clients.sqs.send_message_batch(
            QueueUrl=urls.intake,
            Entries=[
                {"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])
            ],
        )

    bridge = IntakeBridge(
        sqs=clients.sqs, queue_url=urls.intake, handler=starter.lambda_handler, wait_seconds=1
    )
    stop = threading.Event()
    worker = threading.Thread(target=bridge.run, args=(stop,))
    worker.start()
    try:
        async with asyncio.timeout(60):
            while not queue_is_empty(clients.sqs, urls.intake):
                await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.to_thread(worker.join, 10)

    dead = [d.body for d in list_dead_letters(clients.sqs, queues.dlq, limit=1000) if tag in d.body]
    ledger = clients.ledger(settings)
    accounted = 0
    for body in bodies:
        try:
            order = parse_order(body)
        except InvalidOrderError:
            accounted += body in dead
            continue
        if await fingerprint(dev_env.client, ledger, order.order_id) == order.fingerprint():
            accounted += 1  # started, or acknowledged as a duplicate of its workflow
        else:
            accounted += body in dead  # a conflict, kept in the DLQ
    assert accounted == len(bodies) == 40
    assert len(dead) == 10  # 5 conflicts + 5 invalid


async def test_the_bridge_delivers_everything_once_temporal_comes_back(
    clients: AwsClients,
    settings: Settings,
    moto_endpoint: str,
    queues: QueueUrls,
) -> None:
    own, urls = private_queues(clients, settings)
    port = free_port()
    address = f"127.0.0.1:{port}"
    bridge = subprocess.Popen(
        [str(Path(sys.executable).parent / "oms"), "intake"],
        env=process_env(moto_endpoint, address, own),
        stderr=subprocess.PIPE,
    )
    server: subprocess.Popen[bytes] | None = None
    orders = [order_body(f"OUT-{uuid.uuid4().hex[:8]}") for _ in range(5)]
    try:
        for body in orders:
            clients.sqs.send_message(QueueUrl=urls.intake, MessageBody=json.dumps(body))
        # Temporal is down: the records are received, fail, and stay on the queue.
        async with asyncio.timeout(30):
            while True:
                attributes = clients.sqs.get_queue_attributes(
                    QueueUrl=urls.intake, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
                )["Attributes"]
                if int(attributes["ApproximateNumberOfMessagesNotVisible"]) > 0:
                    break
                await asyncio.sleep(0.1)
        server = subprocess.Popen(
            [
                temporal_cli(),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--search-attribute",
                "OrderStatus=Keyword",
                "--log-level",
                "error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = None
        deadline = time.monotonic() + 60
        while client is None and time.monotonic() < deadline:
            try:
                client = await Client.connect(address, data_converter=pydantic_data_converter)
            except RuntimeError:
                await asyncio.sleep(0.2)
        assert client is not None, "dev server did not start"
        ledger = clients.ledger(own)
        async with asyncio.timeout(60):
            for body in orders:
                order = parse_order(json.dumps(body))
                while await fingerprint(client, ledger, order.order_id) != order.fingerprint():
                    await asyncio.sleep(0.2)
    finally:
        bridge.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.to_thread(bridge.communicate, timeout=30)
        if server is not None:
            server.terminate()
            server.wait(30)
    assert bridge.returncode == 0, stderr.decode()[-2000:]
    assert b"failed; retrying" in stderr
