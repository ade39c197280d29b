"""When the local stack's parts are ready: each probed with a deadline, never slept for; a part
that exits while starting is reported with the end of its log."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from oms.config import Settings
from oms.local.children import Child
from oms.local.errors import StackError
from oms.ops.versions import VersionError, promote, wait_for_pollers, wait_until_routed
from oms.polling import PollTimeoutError, poll_until


def wait_until_ready(child: Child, what: str, ready: Callable[[], bool], *, within: float) -> None:
    deadline = time.monotonic() + within
    while not ready():
        if not child.alive():
            raise StackError(f"{what} exited during start-up:\n{child.log_tail()}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} not ready after {within:.0f}s; see {child.log_path}")
        time.sleep(0.1)


def aws_ready(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):  # noqa: S310
            return True
    except OSError:
        return False


def temporal_ready(address: str) -> bool:
    async def probe() -> bool:
        try:
            client = await Client.connect(address)
            await client.count_workflows()
        except Exception:  # not up yet: connection refused, or frontend still starting
            return False
        return True

    return asyncio.run(probe())


async def wait_for_workers(
    address: str,
    settings: Settings,
    workers: list[Child],
    expected: int,
    *,
    within: float,
    on_progress: Callable[[str], None],
) -> None:
    """Ready means the workers poll the task queue and their build is current, not merely
    that their processes started."""
    if expected == 0:
        return
    client = await Client.connect(address)
    request = DescribeTaskQueueRequest(
        namespace="default",
        task_queue=TaskQueue(name=settings.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )

    async def polling() -> int:
        dead = [w for w in workers if not w.alive()]
        if dead:  # not retried: ends the wait at once
            raise StackError(f"{dead[0].name} exited during start-up:\n{dead[0].log_tail()}")
        pollers = (await client.workflow_service.describe_task_queue(request)).pollers
        return len({p.identity for p in pollers})

    try:
        await poll_until(
            polling, lambda count: count >= expected, within=within, what="workers", most=0.2
        )
    except PollTimeoutError:
        raise StackError(
            f"workers did not poll {settings.task_queue} within {within:.0f}s; "
            "see .oms/logs/worker-*.log"
        ) from None
    on_progress(f"{expected} worker(s) polling {settings.task_queue}")
    if settings.build_id:
        await promote_build(client, settings, within=within)
        on_progress(
            f"build {settings.build_id} is current in Worker Deployment "
            f"{settings.worker_deployment}"
        )


async def promote_build(client: Client, settings: Settings, *, within: float) -> None:
    """The workers' build becomes current, as a deploy's last step does. The server registers
    a version a moment after its workers' first poll: until then a promote is refused, so it
    is retried until the deadline, then reported in one line."""
    build_id, deployment = settings.build_id or "", settings.worker_deployment
    deadline = time.monotonic() + within
    try:
        await wait_for_pollers(client, deployment, build_id, settings.task_queue, within=within)

        async def promoted() -> bool:
            await promote(client, deployment, build_id, task_queue=settings.task_queue)
            return True

        try:
            await poll_until(
                promoted,
                bool,
                within=max(1.0, deadline - time.monotonic()),
                what=f"build {build_id} to be registered",
                retry_on=(VersionError, RPCError),  # not registered yet
                first=0.25,
                most=0.25,
            )
        except PollTimeoutError as exc:
            raise VersionError(
                f"could not make build {build_id} current in Worker Deployment "
                f"{deployment} within {within:.0f}s: {exc}"
            ) from None
        remaining = max(1.0, deadline - time.monotonic())
        await wait_until_routed(client, build_id, settings.task_queue, within=remaining)
    except VersionError as exc:
        raise StackError(f"{exc}; see .oms/logs/worker-*.log") from None
