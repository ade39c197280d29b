from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.local.binaries import temporal_test_server
from oms.orders.ledger import Ledger
from oms.resources import QueueUrls
from oms.returns.book import ReturnBookRepository


@pytest.fixture(scope="session")
def ledger(clients: AwsClients, settings: Settings, queues: QueueUrls) -> Ledger:
    return clients.ledger(settings)


@pytest.fixture(scope="session")
def book(ledger: Ledger) -> ReturnBookRepository:
    return ReturnBookRepository(ledger)


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The returns' own time-skipping server: one shared with tests/workflows stops skipping
    time (orders those tests leave waiting for a person hold it), and the expiry tests hang."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_test_server(), data_converter=pydantic_data_converter
    )
    yield env
    await env.shutdown()
