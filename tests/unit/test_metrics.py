"""Metrics as CloudWatch EMF: the documents' shape, the SDK's buffer drained and aggregated,
and the business counters the intake and the email activity write."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from oms import metrics
from oms.intake.records import Message, OrderIntake
from oms.local.demo_orders import order_body
from oms.metrics import SDK_NAMESPACE, Metric, SdkMetrics
from oms.orders.activities.notification import count_outcome
from oms.orders.client import Submission
from oms.orders.contract import OrderState
from tests.starter.test_intake import FakeOrders, FakeSqs


@pytest.fixture
def emitted() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    metrics.configure(enabled=True, stream=stream)
    yield stream
    metrics.configure(enabled=False)


def documents(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def names(stream: io.StringIO) -> list[tuple[str, dict[str, Any]]]:
    """(metric name, dimensions) of each document."""
    found = []
    for document in documents(stream):
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        (metric,) = directive["Metrics"]
        dims = {key: document[key] for key in directive["Dimensions"][0]}
        found.append((metric["Name"], dims))
    return found


def test_a_counter_is_an_emf_document_with_and_without_its_dimensions(
    emitted: io.StringIO,
) -> None:
    metrics.count(Metric.ORDERS_FAILED, Reason="OUT_OF_STOCK")

    (document,) = documents(emitted)
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "OMS"
    assert directive["Dimensions"] == [["Reason"], []]  # by reason, and the total
    assert directive["Metrics"] == [{"Name": "OrdersFailed", "Unit": "Count"}]
    assert (document["OrdersFailed"], document["Reason"]) == (1, "OUT_OF_STOCK")


def test_metrics_off_writes_nothing() -> None:
    stream = io.StringIO()
    metrics.configure(enabled=False, stream=stream)

    metrics.count(Metric.ORDERS_STARTED)

    assert stream.getvalue() == ""


async def test_the_intake_counts_started_duplicate_dead_lettered_and_throttled(
    emitted: io.StringIO,
) -> None:
    body = json.dumps(order_body("M-1"))
    for answer in (Submission.STARTED, Submission.DUPLICATE, Submission.CONFLICT):
        await OrderIntake(orders=FakeOrders(answer), sqs=FakeSqs(), dlq_url="dlq").accept(  # type: ignore[arg-type]
            Message("m", body)
        )
    await OrderIntake(orders=FakeOrders(), sqs=FakeSqs(), dlq_url="dlq").accept(  # type: ignore[arg-type]
        Message("m", "not json")
    )
    throttled = RPCError("slow down", RPCStatusCode.RESOURCE_EXHAUSTED, b"")
    with pytest.raises(RPCError):
        await OrderIntake(orders=FakeOrders(throttled), sqs=FakeSqs(), dlq_url="dlq").accept(  # type: ignore[arg-type]
            Message("m", body)
        )

    assert names(emitted) == [
        ("OrdersStarted", {}),
        ("OrdersDuplicate", {}),
        ("OrdersDeadLettered", {"Kind": "conflict"}),
        ("OrdersDeadLettered", {"Kind": "invalid"}),
        ("StartThrottled", {}),
    ]


def test_outcomes_are_counted_by_reason_code_never_free_text(emitted: io.StringIO) -> None:
    count_outcome(OrderState.COMPLETED, None)
    count_outcome(OrderState.FAILED, "PAYMENT_DECLINED")
    count_outcome(OrderState.CANCELLED, "customer changed their mind")

    assert names(emitted) == [
        ("OrdersCompleted", {}),
        ("OrdersFailed", {"Reason": "PAYMENT_DECLINED"}),
        ("OrdersCancelled", {"Reason": "OTHER"}),
    ]


def test_sdk_metrics_are_aggregated_per_task_queue_and_written_once_per_flush() -> None:
    stream = io.StringIO()
    writer = metrics.EmfWriter(enabled=True, stream=stream)
    sdk = SdkMetrics(writer=lambda: writer)
    meter = sdk.runtime.metric_meter.with_additional_attributes(
        {"task_queue": "orders", "workflow_type": "OrderWorkflow"}
    )
    failed = meter.create_counter("temporal_workflow_task_execution_failed")
    latency = meter.create_histogram("temporal_workflow_task_schedule_to_start_latency")
    failed.add(2)
    failed.add(3)
    latency.record(40)
    latency.record(70)

    sdk.flush()
    sdk.flush()  # nothing new: counters and histograms were reset

    (document,) = documents(stream)
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == SDK_NAMESPACE
    assert directive["Dimensions"] == [["TaskQueue"]]  # workflow_type dropped: bounded cost
    assert document["TaskQueue"] == "orders"
    assert document["temporal_workflow_task_execution_failed"] == 5
    assert document["temporal_workflow_task_schedule_to_start_latency"] == [40, 70]
