"""The local stack as users run it: `oms dev` / `oms demo` as processes, a second terminal
using `.oms/local.env`, and nothing left running afterwards."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import psutil
import pytest
from dotenv import dotenv_values
from rich.console import Console
from temporalio.client import Client

from oms.cli.dev import _summary
from oms.config import Settings
from oms.local.binaries import temporal_cli
from oms.local.demo import DemoReport
from oms.local.demo_orders import SCENARIOS, order_body
from oms.local.moto import sent_emails
from oms.local.stack import free_port
from oms.orders.contract import OrderState, order_workflow_id
from oms.orders.ledger import Ledger
from oms.orders.payloads import OrderStatus
from oms.temporal_client import data_converter

pytestmark = pytest.mark.e2e
OMS = [sys.executable, "-m", "oms"]


def clean_env() -> dict[str, str]:
    """A user's shell: no test endpoints or Temporal address inherited from this session."""
    drop = ("AWS_", "TEMPORAL_", "OMS_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def oms(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command typed in a second terminal in the same directory."""
    return subprocess.run(
        [*OMS, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False,
        timeout=60,
    )  # fmt: skip


def descendants(pid: int) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, f"{path} not written in {timeout}s"
        time.sleep(0.1)


def payload_text(node: object) -> str:
    """Every payload `data` (base64 in protobuf JSON) in a document, decoded."""
    if isinstance(node, dict):
        data = node.get("data") if isinstance(node.get("metadata"), dict) else None
        if isinstance(data, str):
            return base64.b64decode(data).decode(errors="replace")
        return "\n".join(payload_text(v) for v in node.values())
    if isinstance(node, list):
        return "\n".join(payload_text(v) for v in node)
    return ""


async def test_a_second_terminal_drives_the_stack_through_local_env(tmp_path: Path) -> None:
    # Given `oms dev --workers 0 --no-demo` running in one terminal
    ports = [str(free_port()) for _ in range(4)]
    dev = subprocess.Popen(
        [*OMS, "dev", "--workers", "0", "--no-demo", "--step-latency-ms", "0",
         "--temporal-port", ports[0], "--ui-port", ports[1], "--aws-port", ports[2],
         "--codec-port", ports[3]],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    local_env = tmp_path / ".oms" / "local.env"
    worker = None
    children: list[int] = []
    try:
        await asyncio.to_thread(wait_for, local_env, dev)
        values = {k: v for k, v in dotenv_values(local_env).items() if v is not None}
        assert values["TEMPORAL_ADDRESS"].endswith(ports[0])
        assert values["AWS_ENDPOINT_URL"].endswith(ports[2])
        assert values["TEMPORAL_CODEC_ENDPOINT"].endswith(ports[3])
        assert {"OMS_INTAKE_QUEUE", "OMS_TASK_QUEUE", "OMS_INVENTORY_TABLE"} <= set(values)
        children = descendants(dev.pid)

        # When a second terminal (same directory, nothing exported) starts a worker and an
        # upstream system puts orders on the queue
        worker = subprocess.Popen([*OMS, "worker"], cwd=tmp_path, env=clean_env(),
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        session = boto3.session.Session(
            region_name=values["AWS_REGION"], aws_access_key_id="local",
            aws_secret_access_key="local",
        )  # fmt: skip
        endpoint = values["AWS_ENDPOINT_URL"]
        ledger = Ledger(
            session.client("dynamodb", endpoint_url=endpoint),
            orders_table=values["OMS_ORDERS_TABLE"],
            stock_table=values["OMS_INVENTORY_TABLE"],
        )
        before = ledger.get_stock("MUG-RED")
        assert before is not None
        ids = [f"TERM-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        orders = tmp_path / "orders.jsonl"
        orders.write_text(
            "\n".join(json.dumps(order_body(i, lines={"MUG-RED": 2})) for i in ids) + "\n"
        )
        submitted = oms(tmp_path, "submit", str(orders))
        assert submitted.returncode == 0, submitted.stderr

        # Then every order completes: stock taken, one email each
        client = await Client.connect(
            values["TEMPORAL_ADDRESS"],
            # payloads are encrypted under the stack's key, in its emulator's KMS
            data_converter=data_converter(
                Settings(payload_key_id=values["OMS_PAYLOAD_KEY_ID"]),
                session.client("kms", endpoint_url=endpoint),
            ),
        )
        async with asyncio.timeout(60):
            for order_id in ids:
                handle = client.get_workflow_handle(order_workflow_id(order_id),
                                                    result_type=OrderStatus)  # fmt: skip
                while True:
                    try:
                        result = await handle.result()
                        break
                    except Exception:  # not started by the intake bridge yet
                        await asyncio.sleep(0.2)
                assert result.state == OrderState.COMPLETED
        after = ledger.get_stock("MUG-RED")
        assert after is not None
        assert before.available - after.available == 6
        assert after.reserved == before.reserved  # shipped units left the books
        emails = sent_emails(endpoint)
        for order_id in ids:
            assert sum(order_id in e.subject for e in emails) == 1

        # And the operator commands answer from the same terminal
        status = oms(tmp_path, "status", ids[0], "--json")
        assert status.returncode == 0, status.stderr
        document = json.loads(status.stdout)
        assert document["state"] == "COMPLETED"
        assert document["trackingNumber"]
        assert [s["step"] for s in document["steps"]] == [
            "reserve_inventory", "authorize_payment", "prepare_shipment", "capture_payment",
            "ship", "notify_customer",
        ]  # fmt: skip
        cancel = oms(tmp_path, "cancel", ids[0], "--reason", "too late")
        assert cancel.returncode == 1
        assert "rejected" in cancel.stdout + cancel.stderr
        deadline = time.monotonic() + 30
        listed: set[str] = set()
        while not set(ids) <= listed and time.monotonic() < deadline:
            found = oms(tmp_path, "list", "--status", "COMPLETED", "--json")
            listed = {row["orderId"] for row in json.loads(found.stdout)}
            await asyncio.sleep(0.3)
        assert set(ids) <= listed

        # And the Temporal CLI decodes through the codec server named in .oms/local.env
        shown = await asyncio.to_thread(
            subprocess.run,
            [temporal_cli(), "workflow", "show", "-w", order_workflow_id(ids[0]),
             "--output", "json"],
            env={**clean_env(), **values}, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        assert "customer1@example.com" in payload_text(json.loads(shown.stdout))
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        dev.send_signal(signal.SIGINT)  # Ctrl-C
        dev.wait(60)

    assert dev.returncode == 130, dev.stderr.read().decode()[-2000:] if dev.stderr else ""
    assert worker is not None
    assert worker.returncode == 0
    assert children, "the stack had child processes"
    assert not [pid for pid in children if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
    assert not local_env.exists()  # a stopped stack leaves no stale endpoints behind


def test_a_busy_port_is_a_one_line_error_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*OMS, "dev", "--no-demo", "--temporal-port", str(port)],
            cwd=tmp_path, env=clean_env(), check=False, capture_output=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert lines[0].startswith("error: port ")
    assert "--temporal-port" in lines[0]
    assert not (tmp_path / ".oms" / "local.env").exists()


def test_demo_json_passes_and_matches_the_table(tmp_path: Path) -> None:
    result = subprocess.run(
        [*OMS, "demo", "--scenario", "orders", "--orders", "20", "--json",
         "--step-latency-ms", "50"],
        cwd=tmp_path, env=clean_env(), check=False, capture_output=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    report = DemoReport.model_validate(json.loads(result.stdout))  # stdout is only JSON
    assert report.passed
    assert len(report.orders) == 20 + len(SCENARIOS)
    assert {o.scenario for o in report.orders} == set(SCENARIOS)
    assert all(o.emails == 1 and o.state == o.expected for o in report.orders)
    console = Console(record=True, width=200)
    console.print(_summary(report.orders))
    table = console.export_text()
    for order in report.orders:
        row = next(line for line in table.splitlines() if order.order_id in line)
        assert order.state is not None
        assert order.state.value in row
        assert f"│ {order.emails}" in row


def test_demo_crash_scenario_completes_every_order_exactly_once(tmp_path: Path) -> None:
    result = subprocess.run(
        [*OMS, "demo", "--scenario", "crash", "--orders", "5", "--json"],
        cwd=tmp_path, env=clean_env(), check=False, capture_output=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    report = DemoReport.model_validate(json.loads(result.stdout))
    assert report.passed
    assert all(o.emails == 1 for o in report.orders)
