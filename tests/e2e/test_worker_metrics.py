"""`oms worker` with `OMS_METRICS=emf`: business and SDK metrics as EMF lines on stdout, which
is what CloudWatch Logs turns into metrics in AWS (no agent, no sidecar)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.metrics import NAMESPACE, SDK_NAMESPACE
from oms.orders.contract import OrderState
from oms.orders.payloads import OrderStatus
from oms.resources import QueueUrls

from ..conftest import process_env
from .test_worker_process import OMS, start_order

pytestmark = pytest.mark.e2e


def emf_documents(stdout: bytes) -> list[dict[str, Any]]:
    documents = []
    for line in stdout.decode().splitlines():
        if line.startswith('{"_aws"'):
            documents.append(json.loads(line))
    return documents


async def test_the_worker_writes_business_and_sdk_metrics_as_emf(
    dev_env: WorkflowEnvironment,
    dev_address: str,
    moto_endpoint: str,
    settings: Settings,
    clients: AwsClients,
    queues: QueueUrls,
    sku: str,
    order_id: str,
) -> None:
    own = settings.model_copy(update={"task_queue": f"metrics-{sku}"})
    clients.ledger(own).set_stock(sku, 10)
    env = process_env(moto_endpoint, dev_address, own, OMS_METRICS="emf")
    worker = subprocess.Popen(
        [OMS, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        workflow_id = await start_order(dev_env.client, clients, own, order_id, sku)
        handle = dev_env.client.get_workflow_handle(workflow_id, result_type=OrderStatus)
        result = await asyncio.wait_for(handle.result(), 60)
    finally:
        worker.send_signal(signal.SIGTERM)  # the drain writes the SDK metrics left
        stdout, stderr = await asyncio.to_thread(worker.communicate, timeout=30)
    assert result.state == OrderState.COMPLETED
    assert worker.returncode == 0, stderr.decode()[-2000:]

    by_namespace: dict[str, set[str]] = {}
    for document in emf_documents(stdout):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names = {metric["Name"] for metric in directive["Metrics"]}
            by_namespace.setdefault(directive["Namespace"], set()).update(names)
    assert {"OrdersCompleted", "EmailsSent"} <= by_namespace[NAMESPACE]
    assert "temporal_workflow_task_schedule_to_start_latency" in by_namespace[SDK_NAMESPACE]
    assert "temporal_activity_execution_latency" in by_namespace[SDK_NAMESPACE]
