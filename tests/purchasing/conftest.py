from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from oms.process.visibility import ORDER_STATUS_ATTRIBUTE
from tests.time_skipping import time_skipping_env


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_env(ORDER_STATUS_ATTRIBUTE) as env:
        yield env
