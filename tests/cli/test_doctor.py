"""`oms doctor` against the local stack: a clean deployment has no findings (exit 0); each kind
of finding, planted, is reported (exit 1).

The module has a deployment of its own (tables, queues, task queue, worker) on the session's
moto and dev servers, so what the doctor sees is only what these tests put there.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms import metrics
from oms.aws import AwsClients
from oms.config import Settings
from oms.local.demo_orders import order_body
from oms.ops.backlog import sample_and_publish
from oms.ops.doctor import Doctor, Report
from oms.orders.client import OrderClient
from oms.orders.contract import OrderState, SearchStatus, order_workflow_id
from oms.orders.gateway import SimulatedGateway
from oms.orders.ledger import Ledger
from oms.orders.models import parse_order
from oms.orders.payloads import CompensationResult
from oms.orders.records import Package, Payment, RecordState, Reservation
from oms.resources import QueueUrls, ensure_all
from oms.worker import WORKFLOWS, build_activities
from tests.cli.conftest import invoke

STUCK = "STUCK-"


class VoidNeverWorks(SimulatedGateway):
    """The payment provider is down for voids of `STUCK-` orders: that compensation must
    finish, so the order ends up NEEDS_ATTENTION."""

    def void(self, order_id: str, *, idempotency_key: str) -> CompensationResult:
        if order_id.startswith(STUCK):
            raise RuntimeError("payment provider unavailable")
        return super().void(order_id, idempotency_key=idempotency_key)


@dataclass
class Deployment:
    settings: Settings
    urls: QueueUrls
    ledger: Ledger
    orders: OrderClient
    clients: AwsClients

    def doctor(self, orders: OrderClient | None = None, **kwargs: timedelta) -> Doctor:
        return Doctor(
            orders=orders or self.orders,
            ledger=self.ledger,
            sqs=self.clients.sqs,
            dlq_url=self.urls.dlq,
            **kwargs,
        )


@pytest.fixture(scope="module")
async def deployment(
    dev_env: WorkflowEnvironment, clients: AwsClients, settings: Settings
) -> AsyncIterator[Deployment]:
    tag = uuid.uuid4().hex[:8]
    own = settings.model_copy(
        update={
            "orders_table": f"doc-orders-{tag}",
            "inventory_table": f"doc-stock-{tag}",
            "intake_queue": f"doc-in-{tag}",
            "dlq": f"doc-dlq-{tag}",
            "task_queue": f"doctor-{tag}",
        }
    )
    urls = ensure_all(clients, own)
    ledger = clients.ledger(own)
    activities = build_activities(own, clients, gateway=VoidNeverWorks(ledger))
    with ThreadPoolExecutor(4, thread_name_prefix="doctor-activity") as executor:
        worker = Worker(
            dev_env.client,
            task_queue=own.task_queue,
            workflows=WORKFLOWS,
            activities=activities,
            activity_executor=executor,
            graceful_shutdown_timeout=timedelta(seconds=2),
        )
        running = asyncio.create_task(worker.run())
        orders = OrderClient(
            dev_env.client, ledger, task_queue=own.task_queue, attention_after_seconds=1
        )
        yield Deployment(own, urls, ledger, orders, clients)
        await worker.shutdown()
        await running


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


def cli_env(cli: pytest.MonkeyPatch, deployment: Deployment, dev_address: str) -> None:
    own = deployment.settings
    cli.setenv("TEMPORAL_ADDRESS", dev_address)
    cli.setenv("TEMPORAL_NAMESPACE", "default")
    for name in ("orders_table", "inventory_table", "intake_queue", "dlq", "task_queue"):
        cli.setenv(f"OMS_{name.upper()}", getattr(own, name))


def checks(report: Report) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.check, set()).add(finding.subject)
    return found


async def test_a_clean_deployment_has_no_findings(
    deployment: Deployment, cli: pytest.MonkeyPatch, dev_address: str, sku: str
) -> None:
    # Given a completed order and a worker polling
    deployment.ledger.set_stock(sku, 5)
    order_id = f"OK-{uuid.uuid4().hex[:8]}"
    await deployment.orders.submit(parse_order(json.dumps(order_body(order_id, lines={sku: 2}))))
    assert (await deployment.orders.result(order_id)).state == OrderState.COMPLETED

    # When the doctor looks
    report = await deployment.doctor().examine()

    # Then nothing needs a person, and the command says so with exit 0
    assert report.findings == []
    cli_env(cli, deployment, dev_address)
    result = await asyncio.to_thread(invoke, "doctor", "--json")  # the CLI runs its own loop
    assert (result.exit_code, json.loads(result.stdout)) == (0, {"findings": []}), result.stderr


async def test_each_kind_of_finding_is_reported(
    deployment: Deployment, cli: pytest.MonkeyPatch, dev_address: str, sku: str
) -> None:
    ledger, tag = deployment.ledger, uuid.uuid4().hex[:8]
    # An order whose void keeps failing: NEEDS_ATTENTION (and, threshold 0, long-running).
    ledger.set_stock(sku, 5)
    stuck = f"{STUCK}{tag}"
    body = order_body(stuck, lines={sku: 1}, token="tok_capture_declined")
    await deployment.orders.submit(parse_order(json.dumps(body)))

    async def needs_attention() -> bool:
        listed = await deployment.orders.list(SearchStatus.NEEDS_ATTENTION, this_task_queue=True)
        return stuck in {order.order_id for order in listed}

    # A closed order (no workflow) that left a reservation, an authorization and a package.
    gone = f"GONE-{tag}"
    ledger.put_new(Reservation(order_id=gone, status=RecordState.ACTIVE, lines={f"{sku}-X": 1}))
    ledger.put_new(Payment(order_id=gone, status=RecordState.AUTHORIZED, authorization_id="a-1"))
    ledger.put_new(Package(order_id=gone, status=RecordState.PREPARED, package_id="p-1"))
    # Negative stock (written past the ledger's checks, as a broken import would).
    negative = f"{sku}-NEG"
    deployment.clients.dynamodb.put_item(
        TableName=deployment.settings.inventory_table,
        Item={"sku": {"S": negative}, "available": {"N": "-1"}, "reserved": {"N": "0"}},
    )
    # A dead letter.
    letter = deployment.clients.sqs.send_message(QueueUrl=deployment.urls.dlq, MessageBody="{")
    try:
        await eventually(needs_attention)

        report = await deployment.doctor(running_longer_than=timedelta(0)).examine()

        found = checks(report)
        assert found.pop("needs-attention") == {stuck}
        assert stuck in found.pop("long-running")
        assert found.pop("left-open") == {gone}
        # The orphaned reservation holds a SKU with no stock item; the other is negative.
        assert found.pop("stock") == {f"{sku}-X", negative}
        assert found.pop("dead-letters") == {letter["MessageId"]}
        assert found == {}
        # The command: exit 1, one JSON document with the findings' fields.
        cli_env(cli, deployment, dev_address)
        result = await asyncio.to_thread(invoke, "doctor", "--json")  # the CLI runs its own loop
        assert result.exit_code == 1, result.stderr
        findings = json.loads(result.stdout)["findings"]
        assert {f["check"] for f in findings} >= {"needs-attention", "left-open", "stock"}
        assert all(set(f) == {"check", "severity", "subject", "detail"} for f in findings)
    finally:
        handle = deployment.orders.temporal.get_workflow_handle(order_workflow_id(stuck))
        await handle.terminate("test over")


async def test_no_worker_polling_is_reported(deployment: Deployment) -> None:
    nobody = OrderClient(
        deployment.orders.temporal, deployment.ledger, task_queue=f"nobody-{uuid.uuid4().hex}"
    )

    report = await deployment.doctor(orders=nobody).no_poller()

    assert [(f.check, f.severity) for f in report] == [("no-poller", "critical")]


async def test_the_backlog_publisher_reports_the_task_queue_from_temporal(
    deployment: Deployment,
) -> None:
    stream = io.StringIO()
    metrics.configure(enabled=True, stream=stream)
    try:
        sample = await sample_and_publish(
            deployment.orders.temporal, deployment.settings.task_queue
        )
    finally:
        metrics.configure(enabled=False)

    written = {
        directive["Metrics"][0]["Name"]: document
        for document in map(json.loads, stream.getvalue().splitlines())
        for directive in document["_aws"]["CloudWatchMetrics"]
    }
    assert sample["pollers"] >= 1  # the module's worker
    assert written["Pollers"]["Pollers"] == sample["pollers"]
    assert written["Pollers"]["TaskQueue"] == deployment.settings.task_queue
    assert written["NamespaceRateLimited"]["NamespaceRateLimited"] == 0
    # TaskQueueStats.rate_limiting_active, read from the dev server (no limit set here)
    assert written["DispatchRateLimited"]["DispatchRateLimited"] == 0
    assert written["BacklogCount"]["BacklogCount"] == sample["backlog_count"]
    assert "OrdersNeedingAttention" in written
