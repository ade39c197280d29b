"""Pinned by default, Auto-upgrade where `oms.worker.AUTO_UPGRADE` says so, and why the
behaviour cannot sit on the plain workflow class: in-process workers on the versioning server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.config import load_settings
from oms.ops.versions import list_versions, promote, wait_for_pollers, wait_until_routed
from oms.worker import deployment_config
from tests.workflows.variants import AutoUpgradingParcelWorkflow, ParcelWorkflow

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def running(
    client: Client, queue: str, workflow: type, build_id: str | None, deployment: str
) -> AsyncIterator[None]:
    settings = load_settings(build_id=build_id, worker_deployment=deployment)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[workflow],
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
