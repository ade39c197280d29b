"""`oms inventory set --supplier/--no-supplier` and `oms supplier event|list` (CONTRACT.md §6f)
against the moto server and the dev server, with purchase orders run by an in-process worker
(fake purchase order activities: no order side needed)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import Result

from oms.aws import AwsClients
from oms.config import Settings
from oms.events.messages import SupplierEventMessage, parse_event
from oms.orders.contract import order_workflow_id
from oms.polling import poll_until
from oms.purchasing.client import PurchaseOrderClient, PurchaseOrderTimings
from oms.purchasing.contract import PurchaseOrderState, SupplierStatus
from oms.purchasing.payloads import SupplierEvent
from oms.purchasing.workflow import PurchaseOrderWorkflow
from oms.resources import QueueUrls

from ..purchasing.fakes import FakeSupplierSide, ListeningOrder, Numbers
from .conftest import drain, error_line, invoke


async def run(*args: str) -> Result:
    return await asyncio.to_thread(invoke, *args)


# --- inventory set --supplier ----------------------------------------------------------------


def test_a_supplier_is_set_listed_and_removed(
    cli: pytest.MonkeyPatch, queues: QueueUrls, sku: str
) -> None:
    given = invoke("inventory", "set", sku, "1", "--supplier", "ACME")
    assert given.exit_code == 0, given.output
    assert given.stdout == f"{sku}: 1 available, 0 reserved, backordered from ACME\n"
    kept = invoke("inventory", "set", sku, "3")  # a stock count leaves the supplier alone
    assert kept.stdout == f"{sku}: 3 available, 0 reserved, backordered from ACME\n"

    listed = json.loads(invoke("inventory", "list", "--json").stdout)
    assert {"sku": sku, "available": 3, "reserved": 0, "warehouse": "main",
            "supplier": "ACME"} in listed  # fmt: skip

    removed = invoke("inventory", "set", sku, "3", "--no-supplier", "--json")
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout)["supplier"] is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--supplier", "ACME", "--no-supplier"], "exclude each other"),
        (["--supplier", "AC ME"], "not a supplier"),
        (["--supplier", "ACME", "--warehouse", "north"], "leave out --warehouse"),
        (["--no-supplier", "--warehouse", "north"], "leave out --warehouse"),
    ],
)
def test_inventory_set_refuses_a_bad_supplier_without_writing(
    cli: pytest.MonkeyPatch,
    queues: QueueUrls,
    clients: AwsClients,
    settings: Settings,
    sku: str,
    options: list[str],
    message: str,
) -> None:
    result = invoke("inventory", "set", sku, "5", *options)

    assert result.exit_code == 2
    assert message in error_line(result)
    assert clients.ledger(settings).get_stock(sku) is None


# --- supplier event: bad input, refused before anything is asked -----------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["po-ACME-MUG-1", "lost"], "STATUS must be one of confirmed, rejected, delivered"),
        (["po-ACME-MUG-1", "confirmed"], "confirmed needs --eta DATE"),
        (["po-ACME-MUG-1", "confirmed", "--eta", "soon"], "--eta must be an ISO date"),
        (["po-ACME-MUG-1", "rejected", "--eta", "2030-01-01"], "--eta goes with confirmed"),
        (["po-ACME-MUG-1", "rejected", "--quantity", "2"], "--quantity goes with delivered"),
        (["order-ORD-1", "rejected"], "purchaseOrderId"),
        (["po-ACME-MUG-1", "rejected", "--event-id", "no spaces"], "--event-id"),
    ],
)
def test_supplier_event_refuses_bad_input(
    cli: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    result = invoke("supplier", "event", *args)

    assert result.exit_code == 2
    assert message in error_line(result)


# --- supplier event and list against running purchase orders ---------------------------------


@dataclass
class Purchasing:
    env: WorkflowEnvironment
    client: PurchaseOrderClient
    events_url: str
    queue: str

    async def placed(self, sku: str, quantity: int) -> str:
        """A purchase order placed with ACME for one waiting order of `quantity`."""
        oid = f"O-{uuid.uuid4().hex[:8]}"
        await self.env.client.start_workflow(
            ListeningOrder.run, id=order_workflow_id(oid), task_queue=self.queue
        )
        pid = await self.client.join(
            supplier="ACME", sku=sku, order_id=oid, quantity=quantity, since=datetime.now(UTC)
        )
        await poll_until(
            lambda: self.client.status(pid),
            lambda s: s.state == PurchaseOrderState.PLACED,
            within=30,
            what=f"{pid} placed",
        )
        return pid


@pytest.fixture
async def purchasing(
    cli: pytest.MonkeyPatch,
    dev_env: WorkflowEnvironment,
    dev_address: str,
    clients: AwsClients,
    queues: QueueUrls,
) -> AsyncIterator[Purchasing]:
    queue = f"cli-po-{uuid.uuid4().hex[:8]}"
    events = clients.sqs.create_queue(QueueName=f"cli-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    cli.setenv("TEMPORAL_ADDRESS", dev_address)
    cli.setenv("OMS_EVENTS_QUEUE", events)
    timings = PurchaseOrderTimings(
        collect_seconds=0.0, confirm_seconds=3600.0, grace_seconds=3600.0,
        attention_after_seconds=300,
    )  # fmt: skip
    client = PurchaseOrderClient(dev_env.client, Numbers(), task_queue=queue, timings=timings)
    async with Worker(
        dev_env.client,
        task_queue=queue,
        workflows=[PurchaseOrderWorkflow, ListeningOrder],
        activities=FakeSupplierSide().activities(),
    ):
        yield Purchasing(dev_env, client, events, queue)


def sent(clients: AwsClients, url: str) -> list[SupplierEventMessage]:
    events = [parse_event(m["Body"]) for m in drain(clients.sqs, url)]
    assert all(isinstance(e, SupplierEventMessage) for e in events)
    return events  # type: ignore[return-value]


async def test_supplier_event_puts_the_event_on_the_queue_and_list_shows_open_orders(
    purchasing: Purchasing, clients: AwsClients
) -> None:
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    pid = await purchasing.placed(sku, 3)

    # visibility (the list) is eventually consistent: asked until the new one shows
    listed = await poll_until(
        lambda: run("supplier", "list", "--json"),
        lambda r: r.exit_code != 0 or pid in r.stdout,
        within=30,
        what=f"{pid} listed",
    )
    assert listed.exit_code == 0, listed.output
    [row] = [r for r in json.loads(listed.stdout) if r["purchaseOrderId"] == pid]
    assert {k: row[k] for k in ("supplier", "sku", "state", "demand", "ordered")} == {
        "supplier": "ACME", "sku": sku, "state": "PLACED", "demand": 3, "ordered": 3,
    }  # fmt: skip
    table = await run("supplier", "list")
    assert pid in table.stdout
    assert "PLACED" in table.stdout

    confirmed = await run("supplier", "event", pid, "CONFIRMED", "--eta", "2030-01-15")
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.stdout == f"sent CONFIRMED (ETA 2030-01-15) for {pid}\n"
    delivered = await run("supplier", "event", pid, "delivered", "--json", "--event-id", "d-1")
    assert delivered.exit_code == 0, delivered.output
    assert json.loads(delivered.stdout)["quantity"] == 3  # what is still owed

    events = sent(clients, purchasing.events_url)
    assert [(e.purchase_order_id, e.status, e.eta, e.quantity) for e in events] == [
        (pid, SupplierStatus.CONFIRMED, date(2030, 1, 15), None),
        (pid, SupplierStatus.DELIVERED, None, 3),
    ]
    assert events[1].event_id == "d-1"


async def test_supplier_event_refuses_an_unknown_or_ended_purchase_order(
    purchasing: Purchasing, clients: AwsClients
) -> None:
    unknown = await run("supplier", "event", "po-NOBODY-X-1", "rejected")
    assert unknown.exit_code == 1
    assert unknown.stdout == "rejected: unknown purchase order po-NOBODY-X-1\n"

    pid = await purchasing.placed(f"SKU-{uuid.uuid4().hex[:6]}", 1)
    handle = purchasing.env.client.get_workflow_handle_for(PurchaseOrderWorkflow.run, pid)
    await handle.signal(
        PurchaseOrderWorkflow.supplier_event,
        SupplierEvent(event_id="r-1", status=SupplierStatus.REJECTED),
    )
    assert (await handle.result()).state == PurchaseOrderState.FAILED

    ended = await run("supplier", "event", pid, "delivered", "--quantity", "1", "--json")
    assert ended.exit_code == 1
    assert json.loads(ended.stdout) == {
        "accepted": False,
        "message": f"purchase order {pid} has ended; an event changes nothing",
    }
    listed = await run("supplier", "list", "--json")
    assert pid not in {r["purchaseOrderId"] for r in json.loads(listed.stdout)}
    assert sent(clients, purchasing.events_url) == []
