from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from bench.history import actions
from oms.local.demo_orders import order_body
from oms.orders.contract import (
    ORDER_STATUS_ATTRIBUTE,
    ORDER_STATUS_KEY,
    SearchStatus,
    order_workflow_id,
)
from oms.orders.models import parse_order
from oms.orders.payloads import OrderInput, OrderStatus
from oms.orders.workflow import OrderWorkflow
from tests.time_skipping import time_skipping_env

from .fakes import FakeSystems

HISTORIES = Path(__file__).parent / "histories"


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_env(ORDER_STATUS_ATTRIBUTE) as env:
        yield env


@dataclass
class Run:
    handle: WorkflowHandle[OrderWorkflow, OrderStatus]
    systems: FakeSystems

    async def result(self) -> OrderStatus:
        return await self.handle.result()

    async def order_status_attribute(self) -> str | None:
        return (await self.handle.describe()).typed_search_attributes.get(ORDER_STATUS_KEY)


@dataclass
class Outcome:
    result: OrderStatus
    order_status: str | None  # the OrderStatus search attribute at the end
    actions: int  # billable Temporal Cloud actions, counted from the history
    task_failures: int  # WorkflowTaskFailed events: a wedged order has them


OrderRunner = Callable[..., Awaitable[Outcome]]


@pytest.fixture
async def run_order(time_env: WorkflowEnvironment) -> AsyncIterator[OrderRunner]:
    """Start an order on a fresh task queue with fake activities; `during(run)` acts while the
    worker is up. The history is replayed afterwards (and recorded with OMS_RECORD_HISTORIES)."""
    async for runner in _order_runner(time_env, record=True):
        yield runner


@pytest.fixture
async def run_order_live(dev_env: WorkflowEnvironment) -> AsyncIterator[OrderRunner]:
    """`run_order` on the real dev server, in real time (no time skipping)."""
    async for runner in _order_runner(dev_env, record=False):
        yield runner


async def _order_runner(env: WorkflowEnvironment, *, record: bool) -> AsyncIterator[OrderRunner]:
    recorded: list[tuple[str, WorkflowHandle[Any, Any], type]] = []

    async def start(
        systems: FakeSystems,
        *,
        scenario: str,
        token: str = "tok_visa",
        during: Callable[[Run], Awaitable[None]] | None = None,
        cancelled_before_start: str | None = None,
        attention_after_seconds: int = 300,
        review_above: int | None = None,
        review_timeout_seconds: int = 86400,
        workflow: type = OrderWorkflow,  # a test variant (same workflow type) to run instead
    ) -> Outcome:
        queue = f"tq-{uuid.uuid4().hex[:8]}"
        order = parse_order(json.dumps(order_body(f"WF-{uuid.uuid4().hex[:10]}", token=token)))
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[workflow],
            activities=systems.activities(),
        ):
            handle = await env.client.start_workflow(
                OrderWorkflow.run,
                OrderInput(
                    order=order,
                    cancelled_before_start=cancelled_before_start,
                    attention_after_seconds=attention_after_seconds,
                    review_above=review_above,
                    review_timeout_seconds=review_timeout_seconds,
                ),
                id=order_workflow_id(order.order_id),
                task_queue=queue,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(ORDER_STATUS_KEY, SearchStatus.IN_PROGRESS.value)]
                ),
            )
            run = Run(handle, systems)
            if during is not None:
                await during(run)
            result = await handle.result()
            recorded.append((scenario, handle, workflow))
            events = list((await handle.fetch_history()).events)
            failures = [
                e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
            return Outcome(
                result, await run.order_status_attribute(), actions(events), len(failures)
            )

    yield start

    for scenario, handle, workflow in recorded:
        history = await handle.fetch_history()
        await Replayer(
            workflows=[workflow], data_converter=pydantic_data_converter
        ).replay_workflow(history)
        if record and os.environ.get("OMS_RECORD_HISTORIES") and workflow is OrderWorkflow:
            HISTORIES.mkdir(exist_ok=True)
            (HISTORIES / f"{scenario}.json").write_text(history.to_json())
