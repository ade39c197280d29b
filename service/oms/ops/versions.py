"""Worker Deployment versions: list them and promote one (CONTRACT.md §7), on Temporal's service
API (the same calls the Temporal CLI makes; the product never shells out to it).

A version's status comes from the server: CURRENT (new workflows start there), RAMPING (a share
of new workflows), DRAINING (no new workflows, pinned ones still open), DRAINED (nothing open:
its workers may stop), INACTIVE (pollers seen, never current). Drainage is recomputed by the
server periodically (minutes by default), so DRAINING lasts at least that long.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import TaskQueueType, WorkerDeploymentVersionStatus
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentRampingVersionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

IDENTITY = "oms versions"
STATUSES = ("CURRENT", "RAMPING", "DRAINING", "DRAINED", "INACTIVE")
_PREFIX = "WORKER_DEPLOYMENT_VERSION_STATUS_"


class VersionError(Exception):
    """A promote or list that cannot be done; the message says why."""


@dataclass(frozen=True)
class VersionView:
    """One row of `oms versions list --json`."""

    buildId: str  # noqa: N815 - the documented JSON field name
    status: str
    rampPercentage: float | None  # noqa: N815
    createdAt: str | None  # noqa: N815
    currentSince: str | None  # noqa: N815
    drainedAt: str | None  # noqa: N815
    # Since when it stopped getting new work (DRAINING/DRAINED): how old a drain is.
    deactivatedAt: str | None = None  # noqa: N815

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _time(value: Timestamp, present: bool) -> str | None:
    if not present:
        return None
    return datetime.fromtimestamp(value.seconds + value.nanos / 1e9).astimezone().isoformat()


async def list_versions(client: Client, deployment: str) -> list[VersionView]:
    """The deployment's versions, newest first; empty if no versioned worker ever polled."""
    try:
        info = (
            await client.workflow_service.describe_worker_deployment(
                DescribeWorkerDeploymentRequest(
                    namespace=client.namespace, deployment_name=deployment
                )
            )
        ).worker_deployment_info
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return []
        raise
    routing = info.routing_config
    ramping = routing.ramping_deployment_version.build_id
    rows = []
    for summary in info.version_summaries:
        status = WorkerDeploymentVersionStatus.Name(summary.status).removeprefix(_PREFIX)
        if status not in STATUSES:  # CREATED / UNSPECIFIED: registered, never routed to
            status = "INACTIVE"
        build_id = summary.deployment_version.build_id
        drained = summary.drainage_info.last_changed_time
        rows.append(
            (
                summary.create_time.ToNanoseconds(),
                VersionView(
                    buildId=build_id,
                    status=status,
                    rampPercentage=routing.ramping_version_percentage
                    if build_id == ramping
                    else None,
                    createdAt=_time(summary.create_time, summary.HasField("create_time")),
                    currentSince=_time(
                        summary.current_since_time, summary.HasField("current_since_time")
                    ),
                    drainedAt=_time(drained, status == "DRAINED" and drained.seconds > 0),
                    deactivatedAt=_time(
                        summary.last_deactivation_time,
                        summary.HasField("last_deactivation_time"),
                    ),
                ),
            )
        )
    return [view for _, view in sorted(rows, key=lambda row: row[0], reverse=True)]


async def polling_builds(client: Client, deployment: str, task_queue: str) -> set[str]:
    """The builds of `deployment` with a worker polling `task_queue` (workflow tasks) now."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    pollers = (await client.workflow_service.describe_task_queue(request)).pollers
    return {
        p.deployment_options.build_id
        for p in pollers
        if p.deployment_options.deployment_name == deployment
    }


async def promote(
    client: Client,
    deployment: str,
    build_id: str,
    *,
    ramp: float | None = None,
    task_queue: str | None = None,
) -> None:
    """Make `build_id` current (new workflows start there; pinned ones stay where they are),
    or with `ramp` route that percentage of new workflows to it. Rollback is a promote of the
    previous build, which keeps running while it drains.

    With `task_queue` (the CLI and the pipeline always pass it), a build none of whose workers
    polls it is refused: new orders would wait with nobody to run them."""
    known = {view.buildId for view in await list_versions(client, deployment)}
    if build_id not in known:
        raise VersionError(
            f"build {build_id} is not a version of deployment {deployment} "
            "(its workers have not polled yet)"
        )
    if ramp is not None and not 0 < ramp <= 100:
        raise VersionError("--ramp must be a percentage in (0, 100]")
    if task_queue is not None and build_id not in await polling_builds(
        client, deployment, task_queue
    ):
        raise VersionError(
            f"no worker of build {build_id} polls {task_queue} now: new orders would wait "
            "for nobody; start its workers (its ECS service) first"
        )
    if ramp is None or ramp == 100:
        await client.workflow_service.set_worker_deployment_current_version(
            SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace,
                deployment_name=deployment,
                build_id=build_id,
                identity=IDENTITY,
            )
        )
        return
    await client.workflow_service.set_worker_deployment_ramping_version(
        SetWorkerDeploymentRampingVersionRequest(
            namespace=client.namespace,
            deployment_name=deployment,
            build_id=build_id,
            percentage=ramp,
            identity=IDENTITY,
        )
    )


async def wait_for_pollers(
    client: Client, deployment: str, build_id: str, task_queue: str, *, within: float
) -> None:
    """Until workers of `build_id` poll `task_queue` (the pipeline's step before promote)."""
    deadline = time.monotonic() + within
    while True:
        if build_id in await polling_builds(client, deployment, task_queue):
            return
        if time.monotonic() > deadline:
            raise VersionError(f"no worker of build {build_id} polls {task_queue} after {within}s")
        await asyncio.sleep(1)


async def wait_until_routed(
    client: Client, build_id: str, task_queue: str, *, within: float
) -> None:
    """Until the task queue routes new work to `build_id` (a promote reaches the task queue's
    partitions asynchronously, within about a second)."""
    deadline = time.monotonic() + within
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    while True:
        info = (await client.workflow_service.describe_task_queue(request)).versioning_info
        if info.current_deployment_version.build_id == build_id:
            return
        if time.monotonic() > deadline:
            raise VersionError(f"{task_queue} does not route to build {build_id} after {within}s")
        await asyncio.sleep(0.2)
