"""A PT10S subscription on `oms dev` (CONTRACT.md §6e, issue 22): three cycles, three orders
COMPLETED, one reminder and one order email each; a change takes effect at the next cycle; a
worker SIGKILLed mid-cycle (between cycle 2's reminder and its charge) loses nothing and
duplicates nothing. About 35 s."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from dotenv import dotenv_values

from oms.local.binaries import temporal_cli
from oms.local.demo_orders import order_body
from oms.local.moto import sent_emails
from oms.local.stack import free_port
from oms.orders.ledger import Ledger
from oms.subscriptions.activities import SUBJECTS
from oms.subscriptions.contract import SubscriptionEvent, cycle_order_id
from tests.e2e.test_local_stack import OMS, clean_env, wait_for

pytestmark = pytest.mark.e2e
# A reminder 5 s before each charge (the default P3D is longer than the interval: none).
SUBSCRIPTION_ENV = {"OMS_SUBSCRIPTION_REMINDER": "PT5S", "OMS_SUBSCRIPTION_MIN_INTERVAL": "PT10S"}


def until(check: Any, what: str, within: float = 90) -> Any:
    deadline = time.monotonic() + within
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def polling(values: dict[str, str], pid: int) -> bool:
    """Whether the worker process `pid` polls the task queue (its identity is `pid@host`)."""
    shown = subprocess.run(
        [temporal_cli(), "task-queue", "describe", "--task-queue", values["OMS_TASK_QUEUE"],
         "--address", values["TEMPORAL_ADDRESS"], "--output", "json"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return f'"{pid}@' in shown.stdout


async def test_three_cycles_a_change_and_a_worker_killed_mid_cycle(tmp_path: Path) -> None:
    ports = [str(free_port()) for _ in range(4)]
    env = {**clean_env(), **SUBSCRIPTION_ENV}
    dev = subprocess.Popen(
        [*OMS, "dev", "--workers", "0", "--no-demo", "--step-latency-ms", "0",
         "--temporal-port", ports[0], "--ui-port", ports[1], "--aws-port", ports[2],
         "--codec-port", ports[3], "--carrier", "manual"],  # only the order emails count here
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    workers: list[subprocess.Popen[bytes]] = []

    def oms(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*OMS, *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, check=False, timeout=60)  # fmt: skip

    def start_worker() -> None:
        workers.append(subprocess.Popen([*OMS, "worker"], cwd=tmp_path, env=env,
                                        stderr=subprocess.DEVNULL))  # fmt: skip

    try:
        await asyncio.to_thread(wait_for, tmp_path / ".oms" / "local.env", dev)
        values = {k: v for k, v in dotenv_values(tmp_path / ".oms" / "local.env").items() if v}
        endpoint = values["AWS_ENDPOINT_URL"]
        ledger = Ledger(
            boto3.client("dynamodb", endpoint_url=endpoint, region_name=values["AWS_REGION"],
                         aws_access_key_id="local", aws_secret_access_key="local"),
            orders_table=values["OMS_ORDERS_TABLE"], stock_table=values["OMS_INVENTORY_TABLE"],
        )  # fmt: skip
        stock_before = ledger.get_stock("MUG-RED")
        assert stock_before is not None
        start_worker()

        # Given a PT10S subscription of three cycles, 1 x MUG-RED, its first charge in 8 s
        sid = f"E2E-{uuid.uuid4().hex[:8]}"
        body = order_body("unused", lines={"MUG-RED": 1})
        del body["orderId"], body["totalAmount"]
        start = (datetime.now(UTC) + timedelta(seconds=8)).isoformat()
        body |= {"type": "subscription", "subscriptionId": sid, "interval": "PT10S",
                 "cycles": 3, "startAt": start}  # fmt: skip
        (tmp_path / "sub.json").write_text(json.dumps(body))
        created = oms("subscription", "create", "sub.json")
        assert created.returncode == 0, created.stderr

        def status() -> dict[str, Any]:
            shown = oms("subscription", "status", sid, "--json")
            assert shown.returncode == 0, shown.stderr
            document: dict[str, Any] = json.loads(shown.stdout)
            return document

        def finished() -> dict[str, Any] | None:
            """The final status; until then None (also while the query waits on the sticky
            queue of the killed worker: a few seconds with no answer)."""
            shown = oms("subscription", "status", sid, "--json")
            document: dict[str, Any] | None = None
            if shown.returncode == 0:
                document = json.loads(shown.stdout)
            return document if document and document["state"] == "FINISHED" else None

        def subjects() -> list[str]:
            return [e.subject for e in sent_emails(endpoint)]

        reminder = SUBJECTS[SubscriptionEvent.REMINDER].format(sid=sid)
        orders = [cycle_order_id(sid, cycle) for cycle in (1, 2, 3)]

        # When cycle 1 completed, the units change to 2 (from the next cycle)
        await asyncio.to_thread(
            until, lambda: any(o["state"] == "COMPLETED" for o in status()["orders"]), "cycle 1"
        )
        changed = oms("subscription", "change", sid, "--item", "MUG-RED=2")
        assert changed.returncode == 0, changed.stdout + changed.stderr

        # And the worker is SIGKILLed once cycle 2's reminder is out, before its charge
        # (recorded by the workflow: a kill while the email activity reports back would hold
        # the cycle for its 30 s start-to-close timeout and push cycle 3 past its reminder)
        def reminded_2() -> bool:
            return any(r["detail"] == "REMINDER 2" for r in status()["steps"])

        await asyncio.to_thread(until, reminded_2, "reminder 2 recorded")
        placed_2 = status()["orders"]  # (a query needs a worker: asked before the kill)
        # Its replacement polls first (as in a deployment, where another worker runs): the
        # cycle then waits only for the killed worker's sticky queue to time out (5 s).
        start_worker()
        await asyncio.to_thread(until, lambda: polling(values, workers[1].pid), "a new poller")
        killed = workers[0]
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)

        # Then the subscription finishes its three cycles on the new worker
        final = await asyncio.to_thread(until, finished, "FINISHED", 120)
        sent = subjects()
        stock_after = ledger.get_stock("MUG-RED")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
        dev.send_signal(signal.SIGINT)
        dev.wait(60)

    assert [o["cycle"] for o in placed_2] == [1], "the kill landed before cycle 2's charge"
    assert [(o["orderId"], o["state"]) for o in final["orders"]] == [
        (order_id, "COMPLETED") for order_id in orders
    ]
    assert sent.count(reminder) == 3  # one per cycle, none twice across the kill
    for order_id in orders:  # one order email each
        assert sum(f" {order_id} " in f" {s} " for s in sent) == 1, order_id
    assert stock_after is not None
    assert stock_before.available - stock_after.available == 1 + 2 + 2  # the change, from cycle 2
    assert stock_after.reserved == stock_before.reserved
