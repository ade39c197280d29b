"""Worker Versioning on a real dev server: a deploy of incompatible code breaks no order.

Build A (the product's worker with step latency) runs orders; build B (a deliberately
incompatible OrderWorkflow: authorize before reserve) starts and is promoted. Every order that
started on A finishes on A, new orders run on B, A drains, and no history has a
non-determinism failure. The same swap without versioning (a rolling update) shows the failure
versioning prevents.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.local.demo_orders import order_body
from oms.ops.rollout import live_builds
from oms.ops.versions import list_versions, promote, wait_for_pollers
from oms.orders.client import OrderClient, Submission
from oms.orders.contract import OrderState, order_workflow_id
from oms.orders.models import parse_order
from oms.orders.payloads import OrderStatus
from oms.resources import QueueUrls

from ..conftest import process_env

pytestmark = pytest.mark.e2e
OMS = str(Path(sys.executable).parent / "oms")
PROJECT_DIR = Path(__file__).resolve().parents[2]
STEP_LATENCY_MS = "2000"  # A's orders are still running when B is promoted, even on a busy machine


class Deploy:
    """One test's task queue, deployment and worker processes."""

    def __init__(self, env: WorkflowEnvironment, endpoint: str, settings: Settings) -> None:
        self.client: Client = env.client
        self.address = env.client.service_client.config.target_host
        self.endpoint = endpoint
        suffix = uuid.uuid4().hex[:8]
        self.deployment = f"oms-e2e-{suffix}"
        self.settings = settings.model_copy(
            update={"task_queue": f"versioning-{suffix}", "worker_deployment": self.deployment}
        )
        self.workers: list[subprocess.Popen[bytes]] = []

    def env(self, build_id: str | None, **extra: str) -> dict[str, str]:
        env = process_env(self.endpoint, self.address, self.settings, **extra)
        env.pop("OMS_BUILD_ID", None)
        if build_id:
            env["OMS_BUILD_ID"] = build_id
        return env

    def start_worker(self, build_id: str | None, *, incompatible: bool = False) -> None:
        module = "tests.e2e.incompatible_worker" if incompatible else "oms.local.worker"
        env = self.env(build_id, OMS_STEP_LATENCY_MS=STEP_LATENCY_MS)
        self.workers.append(
            subprocess.Popen(
                [sys.executable, "-m", module], env=env, cwd=PROJECT_DIR, stderr=subprocess.PIPE
            )
        )

    def oms(self, *args: str) -> str:
        done = subprocess.run(
            [OMS, *args],
            check=False,
            env=self.env(None),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.wait(30)


@pytest.fixture
def deploy(
    versioned_env: WorkflowEnvironment, moto_endpoint: str, settings: Settings, queues: QueueUrls
) -> Iterator[Deploy]:
    deploy = Deploy(versioned_env, moto_endpoint, settings)
    yield deploy
    deploy.stop()


async def start_orders(deploy: Deploy, clients: AwsClients, count: int) -> list[WorkflowHandle]:
    ledger = clients.ledger(deploy.settings)
    orders = OrderClient(deploy.client, ledger, task_queue=deploy.settings.task_queue)
    handles = []
    for _ in range(count):
        order_id = f"V-{uuid.uuid4().hex[:10]}"
        sku = f"SKU-{uuid.uuid4().hex[:8]}"
        ledger.set_stock(sku, 10)
        body = order_body(order_id, lines={sku: 1})
        assert await orders.submit(parse_order(json.dumps(body))) == Submission.STARTED
        handles.append(
            deploy.client.get_workflow_handle(order_workflow_id(order_id), result_type=OrderStatus)
        )
    return handles


async def until_an_activity_ran(handles: list[WorkflowHandle]) -> None:
    """Each order has completed a workflow task and is inside its saga (so it is bound to the
    build that ran that task)."""
    async with asyncio.timeout(60):
        for handle in handles:
            while not [
                e
                async for e in handle.fetch_history_events()
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            ]:
                await asyncio.sleep(0.1)


async def build_ids_and_failures(handle: WorkflowHandle) -> tuple[set[str], list[str]]:
    """The builds that completed this workflow's tasks, and its workflow task failures."""
    builds, failures = set(), []
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_task_completed_event_attributes"):
            builds.add(event.workflow_task_completed_event_attributes.deployment_version.build_id)
        if event.HasField("workflow_task_failed_event_attributes"):
            attributes = event.workflow_task_failed_event_attributes
            failures.append(
                f"{WorkflowTaskFailedCause.Name(attributes.cause)}: {attributes.failure.message}"
            )
    return builds, failures


async def status_of(deploy: Deploy, build_id: str) -> str:
    versions = await list_versions(deploy.client, deploy.deployment)
    return next(v.status for v in versions if v.buildId == build_id)


async def test_a_promoted_incompatible_build_breaks_no_order_in_flight(
    deploy: Deploy, clients: AwsClients
) -> None:
    build_a, build_b = f"a-{uuid.uuid4().hex[:7]}", f"b-{uuid.uuid4().hex[:7]}"
    queue = deploy.settings.task_queue
    # Given build A, current, running orders slowly
    deploy.start_worker(build_a)
    await wait_for_pollers(deploy.client, deploy.deployment, build_a, queue, within=60)
    await promote(deploy.client, deploy.deployment, build_a)
    on_a = await start_orders(deploy, clients, 3)
    await until_an_activity_ran(on_a)

    # When build B (incompatible) polls and is promoted with the CLI
    deploy.start_worker(build_b, incompatible=True)
    await wait_for_pollers(deploy.client, deploy.deployment, build_b, queue, within=60)
    deploy.oms("versions", "promote", build_b)
    listed = {
        v["buildId"]: v["status"] for v in json.loads(deploy.oms("versions", "list", "--json"))
    }
    assert listed[build_b] == "CURRENT"
    assert listed[build_a] == "DRAINING"  # A's orders are still open
    # The next deploy would keep both services: B current, A draining (and the rollback target).
    assert await live_builds(deploy.client, deploy.deployment, "next") == ["next", build_b, build_a]
    on_b = await start_orders(deploy, clients, 2)

    # Then A's orders complete, and A, with nothing open any more, drains
    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in on_a)), 120)
    closed = time.monotonic()
    async with asyncio.timeout(60):
        while await status_of(deploy, build_a) != "DRAINED":
            await asyncio.sleep(0.2)
    print(f"build A DRAINED {time.monotonic() - closed:.1f}s after its last order closed")

    # ...every order completed on the build that started it, with no task failure
    results += await asyncio.wait_for(asyncio.gather(*(h.result() for h in on_b)), 120)
    assert [r.state for r in results] == [OrderState.COMPLETED] * 5
    for handles, build in ((on_a, build_a), (on_b, build_b)):
        for handle in handles:
            builds, failures = await build_ids_and_failures(handle)
            assert builds == {build}, handle.id
            assert failures == [], handle.id
    # ...and B really is the other code: it authorizes before it reserves.
    first_b = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        async for e in on_b[0].fetch_history_events()
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert first_b[:2] == ["authorize_payment", "reserve_inventory"]
    listed = {
        v["buildId"]: v["status"] for v in json.loads(deploy.oms("versions", "list", "--json"))
    }
    assert listed == {build_a: "DRAINED", build_b: "CURRENT"}
    assert await live_builds(deploy.client, deploy.deployment, "next") == ["next", build_b]


async def test_an_unversioned_rolling_swap_breaks_orders_in_flight(
    deploy: Deploy, clients: AwsClients
) -> None:
    # Given unversioned workers of the old code, orders in flight
    deploy.start_worker(None)
    running = await start_orders(deploy, clients, 2)
    await until_an_activity_ran(running)

    # When the rolling update replaces them with the incompatible code
    old = deploy.workers[0]
    old.send_signal(signal.SIGTERM)
    await asyncio.to_thread(old.wait, 30)
    deploy.start_worker(None, incompatible=True)

    # Then the new code replays the old orders' histories and fails on them
    async with asyncio.timeout(60):
        while True:
            failures = [(await build_ids_and_failures(h))[1] for h in running]
            if all(failures):
                break
            await asyncio.sleep(0.2)
    assert all("NON_DETERMINISTIC" in f[0] for f in failures), failures
    for handle in running:
        await handle.terminate("test over: wedged by the unversioned swap")


def test_promoting_an_unknown_build_is_a_one_line_error(deploy: Deploy) -> None:
    listed = deploy.oms("versions", "list", "--json")
    done = subprocess.run(
        [OMS, "versions", "promote", "never-deployed"],
        check=False,
        env=deploy.env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert json.loads(listed) == []  # no versioned worker has polled this deployment
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "never-deployed is not a version" in done.stderr
    zero = subprocess.run(
        [OMS, "versions", "promote", "x", "--ramp", "0"],
        check=False,
        env=deploy.env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert zero.returncode == 2, zero.stderr


async def test_orders_of_an_unversioned_stack_finish_on_the_first_promoted_build(
    deploy: Deploy, clients: AwsClients
) -> None:
    """docs/DEPLOY.md, "From an unversioned stack": same code, then versioned."""
    deploy.start_worker(None)
    running = await start_orders(deploy, clients, 1)
    await until_an_activity_ran(running)
    old = deploy.workers[0]
    old.send_signal(signal.SIGTERM)
    await asyncio.to_thread(old.wait, 30)

    build = f"v-{uuid.uuid4().hex[:7]}"
    deploy.start_worker(build)
    await wait_for_pollers(
        deploy.client, deploy.deployment, build, deploy.settings.task_queue, within=60
    )
    deploy.oms("versions", "promote", build)

    (result,) = await asyncio.wait_for(asyncio.gather(*(h.result() for h in running)), 60)
    assert result.state == OrderState.COMPLETED
    builds, failures = await build_ids_and_failures(running[0])
    assert builds == {"", build}  # unversioned tasks first, then the promoted build's
    assert failures == []
