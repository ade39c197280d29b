"""One time-skipping test server with the product's converter and search attributes. Each test
directory that needs one starts its own (tests/returns/conftest.py says why they are not shared)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from oms.local.binaries import temporal_test_server


@asynccontextmanager
async def time_skipping_env(*keywords: str) -> AsyncIterator[WorkflowEnvironment]:
    """The server, with `keywords` registered as Keyword search attributes."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_test_server(), data_converter=pydantic_data_converter
    )
    try:
        keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes=dict.fromkeys(keywords, keyword),
            )
        )
        yield env
    finally:
        await env.shutdown()
