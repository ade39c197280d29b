"""The end-to-end tests' own dev server for Worker Versioning."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from oms.local.binaries import temporal_cli
from oms.orders.contract import ORDER_STATUS_KEY

# The server recomputes drainage every few minutes by default; seconds here so the test sees
# DRAINING become DRAINED without waiting (production keeps the defaults).
DRAINAGE_CONFIG = (
    'matching.wv.VersionDrainageStatusRefreshInterval="1s"',
    'matching.wv.VersionDrainageStatusVisibilityGracePeriod="2s"',
)


@pytest.fixture(scope="session")
async def versioned_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of its own: the drainage timings above are server-wide settings."""
    extra: list[str] = []
    for value in DRAINAGE_CONFIG:
        extra += ["--dynamic-config-value", value]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=[ORDER_STATUS_KEY],
        data_converter=pydantic_data_converter,
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=extra,
    )
    yield env
    await env.shutdown()
