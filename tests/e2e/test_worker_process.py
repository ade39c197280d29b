"""`oms worker` as a real process against a real dev server and the moto server."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.local.demo_orders import order_body
from oms.local.moto import sent_emails
from oms.orders.client import OrderClient, Submission
from oms.orders.contract import OrderState, order_workflow_id
from oms.orders.models import parse_order
from oms.orders.payloads import OrderStatus
from oms.resources import QueueUrls

from ..conftest import process_env

pytestmark = pytest.mark.e2e
OMS = str(Path(sys.executable).parent / "oms")


def start_worker(env: dict[str, str], *, local: bool = False) -> subprocess.Popen[bytes]:
    """`oms worker` (the container's entry point), or with `local` the worker `oms dev` runs
    (the same worker plus the simulated step latency of OMS_STEP_LATENCY_MS)."""
    command = [sys.executable, "-m", "oms.local.worker"] if local else [OMS, "worker"]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE)


@pytest.fixture
def worker_settings(settings: Settings, sku: str) -> Settings:
    # A task queue per test: no other worker can pick these orders up.
    return settings.model_copy(update={"task_queue": f"wq-{sku}"})


async def start_order(
    client: Client, clients: AwsClients, settings: Settings, order_id: str, sku: str
) -> str:
    orders = OrderClient(client, clients.ledger(settings), task_queue=settings.task_queue)
    body = order_body(order_id, lines={sku: 2})
    assert await orders.submit(parse_order(json.dumps(body))) == Submission.STARTED
    return order_workflow_id(order_id)


@pytest.fixture
def stocked(clients: AwsClients, settings: Settings, queues: QueueUrls, sku: str) -> str:
    clients.ledger(settings).set_stock(sku, 100)
    return sku


async def test_an_order_completes_through_a_worker_process(
    dev_env: WorkflowEnvironment,
    dev_address: str,
    moto_endpoint: str,
    worker_settings: Settings,
    clients: AwsClients,
    stocked: str,
    order_id: str,
) -> None:
    worker = start_worker(process_env(moto_endpoint, dev_address, worker_settings))
    try:
        workflow_id = await start_order(dev_env.client, clients, worker_settings, order_id, stocked)
        result = await asyncio.wait_for(
            dev_env.client.get_workflow_handle(workflow_id, result_type=OrderStatus).result(), 60
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert result.state == OrderState.COMPLETED
    assert result.tracking_number
    assert [e for e in sent_emails(moto_endpoint) if order_id in e.subject]
    assert worker.returncode == 0


async def test_sigterm_lets_the_running_activity_finish_and_exits_zero(
    dev_env: WorkflowEnvironment,
    dev_address: str,
    moto_endpoint: str,
    worker_settings: Settings,
    clients: AwsClients,
    stocked: str,
    order_id: str,
) -> None:
    # Each step takes 2 s, so SIGTERM lands while the reservation runs.
    env = process_env(
        moto_endpoint,
        dev_address,
        worker_settings,
        OMS_STEP_LATENCY_MS="2000",
        OMS_GRACEFUL_SHUTDOWN_SECONDS="20",
    )
    worker = start_worker(env, local=True)
    workflow_id = await start_order(dev_env.client, clients, worker_settings, order_id, stocked)
    handle = dev_env.client.get_workflow_handle(workflow_id)
    async with asyncio.timeout(30):
        while not (await handle.describe()).raw_description.pending_activities:
            await asyncio.sleep(0.05)
    pending = (await handle.describe()).raw_description.pending_activities[0]
    assert pending.activity_type.name == "reserve_inventory"

    worker.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.to_thread(worker.communicate, timeout=30)
    assert worker.returncode == 0, stderr.decode()[-2000:]

    # The drained activity completed: its result is in the history, not retried elsewhere.
    history = await handle.fetch_history()
    completed = [
        e for e in history.events if e.HasField("activity_task_completed_event_attributes")
    ]
    assert len(completed) == 1
    assert b"draining" in stderr

    # A new worker (the next task after a redeploy) finishes the order.
    replacement = start_worker({**env, "OMS_STEP_LATENCY_MS": "0"})
    try:
        result = await asyncio.wait_for(
            dev_env.client.get_workflow_handle(workflow_id, result_type=OrderStatus).result(), 60
        )
    finally:
        replacement.send_signal(signal.SIGTERM)
        replacement.wait(30)
    assert result.state == OrderState.COMPLETED
    assert replacement.returncode == 0
