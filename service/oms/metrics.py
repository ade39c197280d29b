"""Metrics into CloudWatch without a sidecar: CloudWatch embedded metric format (EMF) on stdout.

Both the worker (ECS, awslogs driver) and the Lambdas write their logs to CloudWatch Logs,
which turns EMF documents into metrics. Two sources:

- **SDK metrics**: the Temporal Core SDK records into a `MetricBuffer` (the runtime is built
  here, before any client connects); `SdkMetrics.drain()` aggregates the buffered updates
  (counters summed, gauges last value, histograms as value lists) and `flush()` writes one EMF
  document per dimension set into namespace `OMS/Temporal`, keeping the SDK's metric names
  (`temporal_workflow_task_execution_failed`, `temporal_activity_schedule_to_start_latency`, …).
- **Business metrics** (namespace `OMS`): `count(Metric.X, reason=...)` from the intake and the
  activities, `gauge(...)` from the backlog publisher. The names are the `Metric` enum.

Written by hand rather than through Powertools' `Metrics`: Powertools adds a `service`
dimension from its environment, and an alarm matches a metric only with exactly the dimensions
it was written with; one small writer keeps the dimension sets stable and the same everywhere.
Off unless `OMS_METRICS=emf` (the stack sets it): locally, stdout stays readable.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Final, TextIO

from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    MetricBuffer,
    Runtime,
    TelemetryConfig,
)

NAMESPACE: Final = "OMS"
SDK_NAMESPACE: Final = "OMS/Temporal"
# SDK attributes kept as dimensions (others, such as workflow or activity type, are dropped
# so the number of metrics, and their cost, stays fixed).
SDK_DIMENSIONS: Final = {
    "task_queue": "TaskQueue",
    "worker_type": "WorkerType",
    "poller_type": "PollerType",
    "status_code": "StatusCode",
}
MAX_VALUES: Final = 100  # EMF accepts at most 100 values per metric in one document


class Metric(StrEnum):
    """Business metrics (namespace `OMS`). Counters unless noted."""

    ORDERS_STARTED = "OrdersStarted"
    ORDERS_DUPLICATE = "OrdersDuplicate"
    ORDERS_DEAD_LETTERED = "OrdersDeadLettered"  # dimension Kind: invalid | conflict
    ORDERS_COMPLETED = "OrdersCompleted"
    ORDERS_CANCELLED = "OrdersCancelled"
    ORDERS_FAILED = "OrdersFailed"  # dimension Reason: OUT_OF_STOCK, PAYMENT_DECLINED, ...
    EMAILS_SENT = "EmailsSent"
    EMAILS_REJECTED = "EmailsRejected"  # an address SES refused for good (final)
    # SES refused to send for a reason of ours (sender, sandbox, account); dimension Reason.
    EMAILS_BLOCKED = "EmailsBlocked"
    START_THROTTLED = "StartThrottled"  # a start refused with RESOURCE_EXHAUSTED
    START_FAILED = "StartFailures"  # a record that failed (SQS delivers it again)
    # Gauges from the backlog publisher (dimension TaskQueue, except OrdersNeedingAttention).
    BACKLOG_COUNT = "BacklogCount"
    BACKLOG_AGE = "BacklogAgeSeconds"
    POLLERS = "Pollers"
    RATE_LIMITED = "NamespaceRateLimited"  # 1 while Temporal answers RESOURCE_EXHAUSTED
    # 1 while the task queue's dispatch rate limit held tasks back (TaskQueueStats'
    # rate_limiting_active): more workers would not drain it faster.
    DISPATCH_LIMITED = "DispatchRateLimited"
    ORDERS_NEEDING_ATTENTION = "OrdersNeedingAttention"
    BUILDS_WITHOUT_POLLERS = "BuildsWithoutPollers"  # live builds no worker polls for
    OLDEST_DRAIN_DAYS = "OldestDrainDays"  # days the oldest DRAINING build has drained
    # Gauge from each worker (dimension TaskQueue): 1 while its Temporal frontend answers.
    TEMPORAL_REACHABLE = "TemporalReachable"


class EmfWriter:
    """Writes EMF documents, one JSON line each; `enabled=False` writes nothing."""

    def __init__(self, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self._stream = stream
        self._lock = threading.Lock()  # activity threads share the writer: whole lines only

    def write(
        self,
        namespace: str,
        values: Mapping[str, float | list[float]],
        *,
        dimensions: Mapping[str, str] | None = None,
        units: Mapping[str, str] | None = None,
        aggregate: bool = True,
    ) -> None:
        if not self.enabled or not values:
            return
        dims = dict(dimensions or {})
        # Also the metric without dimensions (the total an alarm watches) when there are some.
        sets = [list(dims)] + ([[]] if dims and aggregate else [])
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": sets,
                        "Metrics": [
                            {"Name": name, "Unit": (units or {}).get(name, "Count")}
                            for name in values
                        ],
                    }
                ],
            },
            **dims,
            **values,
        }
        line = json.dumps(document, separators=(",", ":"))
        with self._lock:
            stream = self._stream or sys.stdout
            stream.write(line + "\n")
            stream.flush()


_writer = EmfWriter(enabled=False)


def configure(*, enabled: bool, stream: TextIO | None = None) -> EmfWriter:
    """Called once by each entry point (worker, starter, publisher) from its settings."""
    global _writer  # noqa: PLW0603 - one writer per process, like the logging configuration
    _writer = EmfWriter(enabled=enabled, stream=stream)
    return _writer


def count(metric: Metric, value: float = 1, **dimensions: str | None) -> None:
    """A business counter, e.g. `count(Metric.ORDERS_FAILED, Reason="OUT_OF_STOCK")`."""
    dims = {k: v for k, v in dimensions.items() if v}
    _writer.write(NAMESPACE, {metric.value: value}, dimensions=dims)


def gauge(metric: Metric, value: float, *, unit: str = "Count", **dimensions: str) -> None:
    _writer.write(
        NAMESPACE,
        {metric.value: value},
        dimensions=dimensions,
        units={metric.value: unit},
        aggregate=False,
    )


class SdkMetrics:
    """The Temporal runtime with a `MetricBuffer`, drained into EMF documents."""

    def __init__(self, writer: Callable[[], EmfWriter] = lambda: _writer) -> None:
        self.buffer = MetricBuffer(buffer_size=100_000)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=self.buffer))
        self._writer = writer
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._histograms: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
        self._lock = threading.Lock()

    def install(self) -> Runtime:
        """Make it the default runtime: every client connected afterwards records into it."""
        Runtime.set_default(self.runtime, error_if_already_set=False)
        return self.runtime

    def drain(self) -> None:
        """Move buffered updates into the aggregates (often: the buffer is bounded)."""
        updates = self.buffer.retrieve_updates()
        with self._lock:
            for update in updates:
                attributes = update.attributes
                dims = tuple(
                    (SDK_DIMENSIONS[k], str(v))
                    for k, v in sorted(attributes.items())
                    if k in SDK_DIMENSIONS
                )
                key = (update.metric.name, dims)
                if update.metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                    self._counters[key] = self._counters.get(key, 0) + update.value
                elif update.metric.kind == BUFFERED_METRIC_KIND_GAUGE:
                    self._gauges[key] = update.value
                else:
                    self._histograms.setdefault(key, []).append(float(update.value))

    def flush(self) -> None:
        """Drain, then write one EMF document per dimension set and reset the aggregates."""
        self.drain()
        with self._lock:
            by_dims: dict[tuple[tuple[str, str], ...], dict[str, float | list[float]]] = {}
            units: dict[str, str] = {}
            for (name, dims), value in self._counters.items():
                by_dims.setdefault(dims, {})[name] = value
            for (name, dims), value in self._gauges.items():
                by_dims.setdefault(dims, {})[name] = value
            for (name, dims), samples in self._histograms.items():
                by_dims.setdefault(dims, {})[name] = samples[-MAX_VALUES:]
                units[name] = "Milliseconds" if name.endswith("latency") else "None"
            self._counters.clear()
            self._histograms.clear()  # gauges keep their last value: written every flush
        writer = self._writer()
        for dims, values in by_dims.items():
            writer.write(SDK_NAMESPACE, values, dimensions=dict(dims), units=units, aggregate=False)


def setup(enabled: bool) -> SdkMetrics | None:
    """For an entry point, before it connects to Temporal: the EMF writer, and with metrics on
    the SDK runtime recording into a buffer (None when off: the SDK's default runtime)."""
    configure(enabled=enabled)
    if not enabled:
        return None
    sdk = SdkMetrics()
    sdk.install()
    return sdk


async def publish_periodically(
    sdk: SdkMetrics | None, *, every: float = 60.0, drain_every: float = 5.0
) -> None:
    """The worker's loop: drain often (the buffer is bounded), write once a minute; on
    cancellation (shutdown) write what is left."""
    if sdk is None:
        return
    elapsed = 0.0
    try:
        while True:
            await asyncio.sleep(drain_every)
            elapsed += drain_every
            if elapsed >= every:
                sdk.flush()
                elapsed = 0.0
            else:
                sdk.drain()
    finally:
        sdk.flush()
