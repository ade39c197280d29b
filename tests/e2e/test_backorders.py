"""Backorders on the local stack (CONTRACT.md §6f), as a person runs it: `oms dev --supplier`,
a second terminal's `oms inventory set --supplier` and `oms submit`, the emulated supplier
answering through the events queue.

The first test needs only this side (the emulator, the events intake); the others need the
order side of backorders (BACKORDERED, the worker running PurchaseOrderWorkflow) and are
skipped until the worker registers it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from dotenv import dotenv_values
from temporalio.client import Client

from oms.config import Settings
from oms.intake.records import REASON_ATTRIBUTE
from oms.local.backorder_scenario import order_side_missing
from oms.local.demo_orders import order_body
from oms.local.moto import sent_emails
from oms.local.stack import free_port
from oms.orders.contract import OrderState, Step, order_workflow_id
from oms.orders.ledger import Ledger
from oms.orders.payloads import OrderStatus
from oms.purchasing.contract import PURCHASE_ORDER_WORKFLOW_TYPE
from oms.purchasing.payloads import PurchaseOrderStatus
from oms.purchasing.supplier import RecordedSupplier, SupplierOrder
from oms.records import RecordState
from oms.temporal_client import data_converter
from tests.e2e.test_local_stack import OMS, clean_env, oms, wait_for
from tests.e2e.test_scenarios import demo

T = TypeVar("T")
pytestmark = pytest.mark.e2e
needs_order_side = pytest.mark.skipif(
    order_side_missing() is not None,
    reason=f"needs the order side of backorders (branch backorder23b): {order_side_missing()}",
)


@dataclass
class Terminal:
    """A second terminal next to a running `oms dev`: its .oms/local.env, AWS, Temporal."""

    cwd: Path
    values: dict[str, str]
    session: Any

    @property
    def endpoint(self) -> str:
        return self.values["AWS_ENDPOINT_URL"]

    def ledger(self) -> Ledger:
        return Ledger(
            self.session.client("dynamodb", endpoint_url=self.endpoint),
            orders_table=self.values["OMS_ORDERS_TABLE"],
            stock_table=self.values["OMS_INVENTORY_TABLE"],
        )

    def sqs(self) -> Any:
        return self.session.client("sqs", endpoint_url=self.endpoint)

    async def temporal(self) -> Client:
        return await Client.connect(
            self.values["TEMPORAL_ADDRESS"],
            data_converter=data_converter(
                Settings(payload_key_id=self.values["OMS_PAYLOAD_KEY_ID"]),
                self.session.client("kms", endpoint_url=self.endpoint),
            ),
        )


@contextmanager
def oms_dev(tmp_path: Path, *args: str) -> Iterator[Terminal]:
    ports = [str(free_port()) for _ in range(4)]
    dev = subprocess.Popen(
        [*OMS, "dev", "--no-demo", "--step-latency-ms", "0", "--temporal-port", ports[0],
         "--ui-port", ports[1], "--aws-port", ports[2], "--codec-port", ports[3], *args],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        local_env = tmp_path / ".oms" / "local.env"
        wait_for(local_env, dev)
        values = {k: v for k, v in dotenv_values(local_env).items() if v is not None}
        session = boto3.session.Session(
            region_name=values["AWS_REGION"], aws_access_key_id="local",
            aws_secret_access_key="local",
        )  # fmt: skip
        yield Terminal(tmp_path, values, session)
    finally:
        dev.send_signal(signal.SIGINT)  # Ctrl-C
        dev.wait(60)


def until(fetch: Callable[[], T], done: Callable[[T], bool], what: str, within: float = 60) -> T:
    deadline = time.monotonic() + within
    while not done(value := fetch()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: last {value!r}"
        time.sleep(0.2)
    return value


def test_the_emulated_supplier_answers_through_the_events_queue(tmp_path: Path) -> None:
    # Given `oms dev --supplier reject`, and an order placed with the supplier for a purchase
    # order Temporal does not know (no worker: nothing else runs)
    with oms_dev(tmp_path, "--workers", "0", "--supplier", "reject",
                 "--supplier-step-s", "0.5") as terminal:  # fmt: skip
        ledger = terminal.ledger()
        pid = f"po-ACME-SKU-{uuid.uuid4().hex[:6]}-1"
        RecordedSupplier(ledger).place(pid, "ACME", "SKU-X", 2)

        # When the emulated supplier answers (REJECTED, through the events queue), and the
        # intake routes the event
        sqs = terminal.sqs()
        dlq = sqs.get_queue_url(QueueName=terminal.values["OMS_EVENTS_DLQ"])["QueueUrl"]

        def dead_letters() -> list[dict[str, Any]]:
            return sqs.receive_message(
                QueueUrl=dlq, MessageAttributeNames=["All"], MaxNumberOfMessages=10,
                VisibilityTimeout=0,
            ).get("Messages", [])  # fmt: skip

        [letter] = until(dead_letters, bool, "the supplier's answer in the events DLQ")

        # Then it reached the events intake, which dead-lettered it with the reason, and the
        # supplier settled its order
        reason = letter["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]
        assert reason == f"unknown purchase order {pid}"
        body = json.loads(letter["Body"])
        assert (body["type"], body["status"], body["purchaseOrderId"]) == (
            "supplierEvent", "REJECTED", pid,
        )  # fmt: skip
        settled = until(lambda: ledger.get(SupplierOrder, pid), lambda r: r is not None
                        and r.status == RecordState.REJECTED, "the order settled")  # fmt: skip
        assert settled is not None


async def _follow(client: Client, ids: list[str], seen: dict[str, set[str]]) -> list[OrderStatus]:
    """Every order's states while it runs (BACKORDERED is a wait), then its result."""
    results: dict[str, OrderStatus] = {}
    async with asyncio.timeout(240):
        while len(results) < len(ids):
            for order_id in ids:
                if order_id in results:
                    continue
                handle = client.get_workflow_handle(
                    order_workflow_id(order_id), result_type=OrderStatus
                )
                try:
                    status = await handle.query("status", result_type=OrderStatus)
                except Exception:  # not started by the intake bridge yet
                    continue
                seen[order_id].add(status.state.value)
                if status.state.terminal:
                    results[order_id] = await handle.result()
            await asyncio.sleep(0.2)
    return [results[i] for i in ids]


async def _purchase_orders(client: Client, supplier: str, sku: str) -> list[PurchaseOrderStatus]:
    found = []
    query = f'WorkflowType = "{PURCHASE_ORDER_WORKFLOW_TYPE}"'
    async for execution in client.list_workflows(query):
        if execution.id.startswith(f"po-{supplier}-{sku}-"):
            handle = client.get_workflow_handle(execution.id, result_type=PurchaseOrderStatus)
            found.append(await handle.result())
    return found


@needs_order_side
async def test_five_orders_for_one_unit_wait_backordered_and_all_complete(tmp_path: Path) -> None:
    # Given a SKU with 1 unit and a supplier, and the emulated supplier answering
    with oms_dev(tmp_path, "--supplier", "auto", "--supplier-step-s", "1") as terminal:
        sku = f"BO-{uuid.uuid4().hex[:6].upper()}"
        given = oms(tmp_path, "inventory", "set", sku, "1", "--supplier", "ACME")
        assert given.returncode == 0, given.stderr

        # When 5 orders of 1 unit arrive
        ids = [f"BO5-{uuid.uuid4().hex[:8]}" for _ in range(5)]
        orders = tmp_path / "orders.jsonl"
        orders.write_text(
            "\n".join(json.dumps(order_body(i, lines={sku: 1}, customer=n + 1))
                      for n, i in enumerate(ids)) + "\n"
        )  # fmt: skip
        submitted = oms(tmp_path, "submit", str(orders))
        assert submitted.returncode == 0, submitted.stderr
        client = await terminal.temporal()
        seen: dict[str, set[str]] = {i: set() for i in ids}
        results = await _follow(client, ids, seen)
        purchases = await _purchase_orders(client, "ACME", sku)
        level = terminal.ledger().get_stock(sku)
        emails = sent_emails(terminal.endpoint)

    # Then 1 shipped at once, 4 waited BACKORDERED, and all 5 completed
    assert [r.state for r in results] == [OrderState.COMPLETED] * 5
    waited = [
        r.order_id
        for r in results
        if "BACKORDERED" in seen[r.order_id] or Step.BACKORDER in [s.step for s in r.steps]
    ]
    assert len(waited) == 4, seen
    # the emulated supplier delivered what was ordered: stock = delivered - shipped (+ the 1)
    delivered = sum(p.received for p in purchases)
    assert delivered == sum(p.ordered for p in purchases) == 4
    assert level is not None
    assert (level.available, level.reserved) == (1 + delivered - 5, 0)
    # one backorder email and one outcome email per backordered order; one for the other
    for result in results:
        count = sum(f" {result.order_id} " in f" {e.subject} " for e in emails)
        assert count == (2 if result.order_id in waited else 1), (result.order_id, count)


@needs_order_side
def test_the_backorder_demo_scenario_passes_its_checks(tmp_path: Path) -> None:
    report = demo(tmp_path, "backorder")

    [run] = report.scenarios
    assert run["name"] == "backorder"
    assert run["skipped"] is None
    checks = {c["what"]: c["ok"] for c in run["checks"]}
    assert all(checks.values()), run["checks"]
    assert run["passed"]
    assert any("waited BACKORDERED" in what for what in checks)
    assert any("ended FAILED (rejected)" in what for what in checks)
