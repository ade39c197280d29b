"""Pinned by default, Auto-upgrade where `oms.worker.AUTO_UPGRADE` says so, and why the
behaviour cannot sit on the plain workflow class: in-process workers on the versioning server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.config import load_settings
from oms.local.demo_orders import order_body
from oms.ops.versions import list_versions, promote, wait_for_pollers, wait_until_routed
from oms.orders.contract import ORDER_STATUS_KEY, SearchStatus, order_workflow_id
from oms.orders.models import parse_order
from oms.orders.payloads import OrderInput
from oms.orders.workflow import OrderWorkflow
from oms.returns.contract import return_id
from oms.returns.payloads import ReceiveRequest, ReturnInput
from oms.returns.workflow import ReturnWorkflow
from oms.worker import deployment_config, workflows
from tests.returns.fakes import FakeReturns
from tests.returns.test_workflow import LINES, awaiting_parcel
from tests.workflows.fakes import FakeSystems
from tests.workflows.variants import AutoUpgradingParcelWorkflow, ParcelWorkflow

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def running(
    client: Client,
    queue: str,
    workflow: type | None,
    build_id: str | None,
    deployment: str,
    activities: Sequence[Callable[..., Any]] = (),
) -> AsyncIterator[None]:
    """A worker of `build_id`; with `workflow` None, the product's own classes (as
    `oms.worker.workflows` registers them for that build)."""
    settings = load_settings(build_id=build_id, worker_deployment=deployment)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[workflow] if workflow else workflows(settings),
        activities=list(activities),
        deployment_config=deployment_config(settings),
    )
    task = asyncio.create_task(worker.run())
    try:
        if build_id:
            await wait_for_pollers(client, deployment, build_id, queue, within=30)
        yield
    finally:
        await worker.shutdown()
        await task


async def task_builds(handle: WorkflowHandle) -> list[str]:
    return [
        e.workflow_task_completed_event_attributes.deployment_version.build_id
        async for e in handle.fetch_history_events()
        if e.HasField("workflow_task_completed_event_attributes")
    ]


async def until_tasks(handle: WorkflowHandle, count: int) -> None:
    async with asyncio.timeout(30):
        while len(await task_builds(handle)) < count:
            await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("registered", "expected"),
    [(AutoUpgradingParcelWorkflow, ["a", "b"]), (ParcelWorkflow, ["a", "a"])],
    ids=["auto-upgrade", "pinned-default"],
)
async def test_behaviour_decides_which_build_runs_the_next_task(
    versioned_env: WorkflowEnvironment, registered: type, expected: list[str]
) -> None:
    client = versioned_env.client
    queue, deployment = f"parcel-{uuid.uuid4().hex[:8]}", f"parcel-{uuid.uuid4().hex[:8]}"
    async with running(client, queue, registered, "a", deployment):
        await promote(client, deployment, "a")
        handle = await client.start_workflow(
            ParcelWorkflow.run, id=f"parcel-{uuid.uuid4().hex}", task_queue=queue
        )
        await until_tasks(handle, 1)
        async with running(client, queue, registered, "b", deployment):
            await promote(client, deployment, "b")
            await wait_until_routed(client, "b", queue, within=30)
            await handle.signal(ParcelWorkflow.scan)
            await until_tasks(handle, 2)
            await handle.signal(ParcelWorkflow.scan)
            assert await asyncio.wait_for(handle.result(), 30) == 2
    assert (await task_builds(handle))[:2] == expected


async def test_an_unversioned_worker_cannot_run_a_declared_behaviour(
    versioned_env: WorkflowEnvironment,
) -> None:
    """Why oms.worker keeps the behaviour off the plain class (and WORKFLOWS): the server
    rejects the task's completion ("versioning behavior cannot be specified without deployment
    options"), so the task times out again and again and the workflow never moves."""
    client = versioned_env.client
    queue = f"parcel-{uuid.uuid4().hex[:8]}"
    async with running(client, queue, AutoUpgradingParcelWorkflow, None, "unused"):
        handle = await client.start_workflow(
            ParcelWorkflow.run,
            id=f"parcel-{uuid.uuid4().hex}",
            task_queue=queue,
            task_timeout=timedelta(seconds=1),
        )
        async with asyncio.timeout(30):
            while not [
                e
                async for e in handle.fetch_history_events()
                if e.HasField("workflow_task_timed_out_event_attributes")
            ]:
                await asyncio.sleep(0.1)
        assert await task_builds(handle) == []  # not one task completed
        await handle.terminate("test over")


async def test_a_ramp_then_a_full_promote(versioned_env: WorkflowEnvironment) -> None:
    client = versioned_env.client
    queue, deployment = f"parcel-{uuid.uuid4().hex[:8]}", f"parcel-{uuid.uuid4().hex[:8]}"
    async with (
        running(client, queue, ParcelWorkflow, "a", deployment),
        running(client, queue, ParcelWorkflow, "b", deployment),
    ):
        await promote(client, deployment, "a")
        await promote(client, deployment, "b", ramp=25)
        ramped = {
            v.buildId: (v.status, v.rampPercentage) for v in await list_versions(client, deployment)
        }
        await promote(client, deployment, "b")
        promoted = {v.buildId: v.status for v in await list_versions(client, deployment)}

    assert ramped == {"a": ("CURRENT", None), "b": ("RAMPING", 25)}
    assert promoted["b"] == "CURRENT"
    assert promoted["a"] in ("DRAINING", "DRAINED")


async def builds_of_a_real_flow_across_a_promote(
    client: Client,
    start: Callable[[str], Any],
    then: Callable[[Any], Any],
    activities: Sequence[Callable[..., Any]],
) -> list[str]:
    """Start a product workflow on build a, promote b, then `then(handle)`; the builds that
    ran its workflow tasks."""
    queue, deployment = f"real-{uuid.uuid4().hex[:8]}", f"real-{uuid.uuid4().hex[:8]}"
    async with running(client, queue, None, "a", deployment, activities):
        await promote(client, deployment, "a")
        handle = await start(queue)
        async with running(client, queue, None, "b", deployment, activities):
            await promote(client, deployment, "b")
            await wait_until_routed(client, "b", queue, within=30)
            await then(handle)
            await asyncio.wait_for(handle.result(), 60)
    return await task_builds(handle)


async def test_the_real_return_workflow_follows_a_new_build(
    versioned_env: WorkflowEnvironment,
) -> None:
    client = versioned_env.client
    fakes = FakeReturns()
    order_id = f"VR-{uuid.uuid4().hex[:10]}"

    async def start(queue: str) -> Any:
        handle = await client.start_workflow(
            ReturnWorkflow.run,
            ReturnInput(
                return_id=return_id(order_id, 1),
                order_id=order_id,
                number=1,
                lines=LINES,
                currency="EUR",
                reason="does not fit",
                customer_name="Ada Lovelace",
                email="ada@example.com",
                parcel_days=14,
            ),
            id=return_id(order_id, 1),
            task_queue=queue,
        )
        await awaiting_parcel(handle)  # waiting on its weeks-long timer, on build a
        return handle

    async def receive(handle: Any) -> None:
        await handle.execute_update(ReturnWorkflow.receive, ReceiveRequest(accepted=None))

    builds = await builds_of_a_real_flow_across_a_promote(
        client, start, receive, fakes.activities()
    )

    assert builds[0] == "a"
    assert builds[-1] == "b"  # the parcel's arrival ran on the new build
    assert fakes.calls["refund_return"] == 1


async def test_the_real_order_workflow_stays_on_its_build(
    versioned_env: WorkflowEnvironment,
) -> None:
    client = versioned_env.client
    systems = FakeSystems()
    systems.block("authorize_payment")
    order = parse_order(json.dumps(order_body(f"VO-{uuid.uuid4().hex[:10]}")))

    async def start(queue: str) -> Any:
        handle = await client.start_workflow(
            OrderWorkflow.run,
            OrderInput(order=order),
            id=order_workflow_id(order.order_id),
            task_queue=queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ORDER_STATUS_KEY, SearchStatus.IN_PROGRESS.value)]
            ),
        )
        await systems.entered["authorize_payment"].wait()
        return handle

    async def release(_: Any) -> None:
        systems.release("authorize_payment")

    builds = await builds_of_a_real_flow_across_a_promote(
        client, start, release, systems.activities()
    )

    assert set(builds) == {"a"}
    assert len(builds) > 3  # the order's later steps ran after the promote, still on a
