"""The task queue's backlog as CloudWatch metrics: what the workers scale on.

A Lambda on a one-minute EventBridge schedule (`lambda_handler`) asks Temporal for the task
queue's stats (`DescribeTaskQueue` with `report_stats`: approximate backlog count and age, for
workflow and activity tasks) and its pollers, counts the orders needing attention, and writes
them as EMF (`oms.metrics`). A Lambda rather than the workers: one sample per minute whatever
the number of workers (each worker publishing would multiply the same number), and it keeps
reporting when every worker is down or wedged, which is exactly when the backlog matters.

It also watches the Worker Deployment's builds: `BuildsWithoutPollers` (a current, ramping or
draining build that no worker polls for: its orders wait for nobody) and `OldestDrainDays` (a
drain that has lasted days means an order pinned to an old build is stuck or very long).

`RESOURCE_EXHAUSTED` from Temporal (the namespace is over its rate limit) is published as
`NamespaceRateLimited` = 1: the scaling policy does not add workers then, since more pollers
only add requests to a namespace that is already refusing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from oms import metrics
from oms.config import load_settings
from oms.logs import configure_logging
from oms.loop_thread import LoopThread
from oms.metrics import Metric
from oms.ops.versions import list_versions, polling_builds
from oms.process.visibility import attention_query
from oms.temporal_client import connect

TASK_TYPES = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)


@dataclass(frozen=True)
class QueueSample:
    task_queue: str
    backlog_count: int  # workflow + activity tasks waiting for a worker
    backlog_age_seconds: float  # the oldest waiting task, either type
    pollers: int  # distinct pollers (workflow or activity) seen recently
    rate_limited: bool  # the namespace refused the request (no stats)
    # A task-queue rate limit held dispatches back in the last ~30 s (either task type).
    dispatch_limited: bool = False


async def sample_queue(client: Client, task_queue: str) -> QueueSample:
    """One look at the task queue. A rate-limited answer is a sample too (`rate_limited`)."""
    count, age, pollers, dispatch_limited = 0, 0.0, set[str](), False
    for task_type in TASK_TYPES:
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=task_type,
            report_stats=True,
        )
        try:
            response = await client.workflow_service.describe_task_queue(
                request, timeout=timedelta(seconds=10)
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                return QueueSample(task_queue, 0, 0.0, 0, rate_limited=True)
            raise
        stats = response.stats
        count += stats.approximate_backlog_count
        age = max(age, stats.approximate_backlog_age.ToTimedelta().total_seconds())
        pollers.update(poller.identity for poller in response.pollers)
        dispatch_limited = dispatch_limited or stats.rate_limiting_active
    return QueueSample(
        task_queue, count, age, len(pollers), rate_limited=False, dispatch_limited=dispatch_limited
    )


def publish(sample: QueueSample, needing_attention: int | None) -> None:
    queue = {"TaskQueue": sample.task_queue}
    metrics.gauge(Metric.RATE_LIMITED, 1 if sample.rate_limited else 0, **queue)
    if not sample.rate_limited:
        metrics.gauge(Metric.BACKLOG_COUNT, sample.backlog_count, **queue)
        metrics.gauge(Metric.BACKLOG_AGE, sample.backlog_age_seconds, unit="Seconds", **queue)
        metrics.gauge(Metric.POLLERS, sample.pollers, **queue)
        metrics.gauge(Metric.DISPATCH_LIMITED, 1 if sample.dispatch_limited else 0, **queue)
    if needing_attention is not None:
        metrics.gauge(Metric.ORDERS_NEEDING_ATTENTION, needing_attention)


@dataclass(frozen=True)
class BuildSample:
    without_pollers: int  # CURRENT/RAMPING/DRAINING builds with no worker polling
    oldest_drain_days: float  # 0 when nothing drains


async def sample_builds(
    client: Client, deployment: str, task_queue: str, *, now: datetime | None = None
) -> BuildSample:
    versions = await list_versions(client, deployment)
    live = [v for v in versions if v.status in ("CURRENT", "RAMPING", "DRAINING")]
    if not live:
        return BuildSample(0, 0.0)
    polling = await polling_builds(client, deployment, task_queue)
    at = now or datetime.now(UTC)
    drains = [
        (at - datetime.fromisoformat(v.deactivatedAt)).total_seconds() / 86400
        for v in live
        if v.status == "DRAINING" and v.deactivatedAt
    ]
    return BuildSample(
        without_pollers=sum(v.buildId not in polling for v in live),
        oldest_drain_days=max(drains, default=0.0),
    )


async def sample_and_publish(
    client: Client, task_queue: str, deployment: str = "oms"
) -> dict[str, Any]:
    sample = await sample_queue(client, task_queue)
    needing: int | None = None
    try:
        needing = (await client.count_workflows(attention_query())).count
    except RPCError as exc:
        if exc.status != RPCStatusCode.RESOURCE_EXHAUSTED:
            raise
    publish(sample, needing)
    builds: BuildSample | None = None
    if not sample.rate_limited:
        try:
            builds = await sample_builds(client, deployment, task_queue)
        except RPCError as exc:
            if exc.status != RPCStatusCode.RESOURCE_EXHAUSTED:
                raise
    if builds is not None:
        queue = {"TaskQueue": task_queue}
        metrics.gauge(Metric.BUILDS_WITHOUT_POLLERS, builds.without_pollers, **queue)
        metrics.gauge(Metric.OLDEST_DRAIN_DAYS, builds.oldest_drain_days, unit="None", **queue)
    return {
        **sample.__dict__,
        "needingAttention": needing,
        "builds": builds.__dict__ if builds else None,
    }


_loop: LoopThread | None = None
_client: Client | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled publisher (EventBridge, every minute). One client per execution
    environment, on a persistent loop, as the starter does."""
    global _loop, _client  # noqa: PLW0603 - reused across invocations, by design
    settings = load_settings()
    if _loop is None:
        configure_logging(settings, service="oms-backlog")
        metrics.configure(enabled=settings.metrics == "emf")
        _loop = LoopThread("oms-backlog")
        _client = _loop.run_sync(connect(settings, lazy=True))
    assert _client is not None
    return _loop.run_sync(
        sample_and_publish(_client, settings.task_queue, settings.worker_deployment)
    )
