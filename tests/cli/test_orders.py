"""`oms status`, `oms cancel`, `oms list` against the dev server, with real worker processes.

The CLI runs in a thread (it has its own event loop, as in a terminal) while the test drives
Temporal on the session loop.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from typer.testing import Result

from oms.aws import AwsClients
from oms.config import Settings
from oms.local.demo_orders import order_body
from oms.orders import client as order_client
from oms.orders.client import OrderClient, Submission
from oms.orders.contract import OrderState, Step, order_workflow_id
from oms.orders.models import parse_order
from oms.orders.payloads import OrderStatus
from oms.resources import QueueUrls

from ..conftest import process_env
from .conftest import OMS, error_line, invoke

T = TypeVar("T")
STEPS = [s.value for s in Step][:6]  # the forward steps, in order


async def run(*args: str) -> Result:
    return await asyncio.to_thread(invoke, *args)


async def eventually(check: Callable[[], Awaitable[T | None]]) -> T:
    """Poll until `check` returns something (visibility is eventually consistent)."""
    async with asyncio.timeout(30):
        while (value := await check()) is None:
            await asyncio.sleep(0.2)
    return value


@pytest.fixture(scope="module")
def stocked_sku(clients: AwsClients, settings: Settings, queues: QueueUrls) -> str:
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    clients.ledger(settings).set_stock(sku, 1000)
    return sku


@pytest.fixture(scope="module")
def workers(
    dev_address: str,
    moto_endpoint: str,
    settings: Settings,
    queues: QueueUrls,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """Two worker processes on task queues of their own: `oms worker` (the product, no
    latency), and the local worker with 1.5 s steps (as `oms dev` runs it) so that an order is
    still in flight when it is cancelled."""
    tag = uuid.uuid4().hex[:6]
    queues_by_speed = {"fast": f"cli-fast-{tag}", "slow": f"cli-slow-{tag}"}
    latency = {"fast": "0", "slow": "1500"}
    commands = {"fast": [*OMS, "worker"], "slow": [sys.executable, "-m", "oms.local.worker"]}
    logs = tmp_path_factory.mktemp("workers")
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []
    for speed, task_queue in queues_by_speed.items():
        env = process_env(
            moto_endpoint,
            dev_address,
            settings.model_copy(update={"task_queue": task_queue}),
            OMS_STEP_LATENCY_MS=latency[speed],
        )
        log = logs / f"{speed}.log"
        with log.open("wb") as out:  # a file, not a pipe: a full pipe would block the worker
            processes.append((subprocess.Popen(commands[speed], env=env, stderr=out), log))
    yield queues_by_speed
    for process, log in processes:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        assert process.returncode == 0, log.read_text()[-2000:]


@pytest.fixture
def temporal_env(cli: pytest.MonkeyPatch, dev_address: str) -> pytest.MonkeyPatch:
    cli.setenv("TEMPORAL_ADDRESS", dev_address)
    cli.setenv("TEMPORAL_NAMESPACE", "default")
    return cli


async def start_order(
    client: Client, clients: AwsClients, settings: Settings, task_queue: str, order_id: str,
    sku: str,
) -> str:  # fmt: skip
    """Submit the order as the intake does (ledger entry, then the workflow)."""
    orders = OrderClient(client, clients.ledger(settings), task_queue=task_queue)
    order = parse_order(json.dumps(order_body(order_id, lines={sku: 1})))
    assert await orders.submit(order) == Submission.STARTED
    return order_workflow_id(order_id)


async def outcome(client: Client, workflow_id: str) -> OrderStatus:
    handle = client.get_workflow_handle(workflow_id, result_type=OrderStatus)
    return await asyncio.wait_for(handle.result(), 60)


@pytest.mark.e2e
async def test_a_completed_order_shows_listed_and_refuses_cancellation(
    dev_env: WorkflowEnvironment,
    temporal_env: pytest.MonkeyPatch,
    workers: dict[str, str],
    stocked_sku: str,
    clients: AwsClients,
    settings: Settings,
    order_id: str,
) -> None:
    workflow_id = await start_order(
        dev_env.client, clients, settings, workers["fast"], order_id, stocked_sku
    )
    assert (await outcome(dev_env.client, workflow_id)).state == OrderState.COMPLETED

    result = await run("status", order_id, "--json")

    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert status["orderId"] == order_id
    assert status["state"] == "COMPLETED"
    assert status["step"] is None
    assert status["reason"] is None
    assert status["trackingNumber"].startswith("TRK")
    assert [s["step"] for s in status["steps"]] == STEPS
    assert all(set(s) == {"step", "at", "detail"} for s in status["steps"])
    human = await run("status", order_id)
    assert order_id in human.stdout
    assert status["trackingNumber"] in human.stdout

    refused = await run("cancel", order_id, "--reason", "too late")

    assert refused.exit_code == 1
    assert refused.stdout == "rejected: order is already COMPLETED\n"

    # An edit after capture is refused with exit 1 and changes nothing (issue 24)
    stock_before = clients.ledger(settings).get_stock(stocked_sku)
    edit = await run("edit", order_id, "--item", f"{stocked_sku}=2", "--reason", "too late")
    assert edit.exit_code == 1, edit.output
    assert edit.stdout.startswith("rejected: ")
    assert len(edit.stdout.splitlines()) == 1
    assert clients.ledger(settings).get_stock(stocked_sku) == stock_before
    assert json.loads((await run("status", order_id, "--json")).stdout)["steps"] == status["steps"]

    async def listed() -> dict[str, str] | None:
        page = await run("list", "--status", "completed", "--limit", "1000", "--json")
        assert page.exit_code == 0, page.output
        return next((row for row in json.loads(page.stdout) if row["orderId"] == order_id), None)

    row = await eventually(listed)
    assert row["state"] == "COMPLETED"
    assert row["workflowStatus"] == "COMPLETED"
    assert row["closeTime"] is not None


@pytest.mark.e2e
async def test_resolving_a_finished_order_is_rejected_in_one_line(
    dev_env: WorkflowEnvironment,
    temporal_env: pytest.MonkeyPatch,
    workers: dict[str, str],
    stocked_sku: str,
    clients: AwsClients,
    settings: Settings,
    order_id: str,
) -> None:
    workflow_id = await start_order(
        dev_env.client, clients, settings, workers["fast"], order_id, stocked_sku
    )
    assert (await outcome(dev_env.client, workflow_id)).state == OrderState.COMPLETED

    result = await run("resolve", order_id, "--step", "void_payment", "--note", "x")

    assert result.exit_code == 1
    assert result.stdout.startswith("rejected: "), result.output


@pytest.mark.e2e
async def test_an_order_in_flight_is_cancelled_before_shipping(
    dev_env: WorkflowEnvironment,
    temporal_env: pytest.MonkeyPatch,
    workers: dict[str, str],
    stocked_sku: str,
    clients: AwsClients,
    settings: Settings,
    order_id: str,
) -> None:
    workflow_id = await start_order(
        dev_env.client, clients, settings, workers["slow"], order_id, stocked_sku
    )

    running = await run("status", order_id, "--json")  # answered by the status query

    assert running.exit_code == 0, running.output
    assert json.loads(running.stdout)["workflowStatus"] == "RUNNING"
    assert not OrderState(json.loads(running.stdout)["state"]).terminal

    accepted = await run("cancel", order_id, "--reason", "changed my mind", "--json")

    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.stdout)["accepted"] is True
    assert (await outcome(dev_env.client, workflow_id)).state == OrderState.CANCELLED
    final = json.loads((await run("status", order_id, "--json")).stdout)
    assert final["state"] == "CANCELLED"
    assert final["reason"] == "changed my mind"
    assert final["cancelRequested"] is True
    # Stopped before shipping; whatever had taken effect is undone (the workflow tests check
    # exactly what, step by step).
    assert "ship" not in [s["step"] for s in final["steps"]]


async def test_an_unknown_order_is_one_line_and_exit_1(
    dev_env: WorkflowEnvironment, temporal_env: pytest.MonkeyPatch, order_id: str
) -> None:
    for command in (["status", order_id], ["resolve", order_id, "--step", "void_payment",
                                            "--note", "x"]):  # fmt: skip
        result = await run(*command)
        assert result.exit_code == 1
        assert error_line(result) == f"error: no order {order_id}"


async def test_cancelling_an_order_not_received_yet_is_remembered(
    dev_env: WorkflowEnvironment, temporal_env: pytest.MonkeyPatch, order_id: str
) -> None:
    unknown = await run("cancel", order_id, "--reason", "customer called first")
    assert unknown.exit_code == 1
    assert error_line(unknown).startswith(f"error: no order {order_id}: nothing cancelled")
    accepted = await run(
        "cancel", order_id, "--reason", "customer called first", "--json", "--before-start"
    )

    assert accepted.exit_code == 0, accepted.output
    answer = json.loads(accepted.stdout)
    assert answer == {
        "orderId": order_id,
        "accepted": True,
        "state": "RECEIVED",
        "message": "not received yet: it will be cancelled when it arrives",
    }
    status = await run("status", order_id, "--json")
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)
    assert (shown["state"], shown["reason"], shown["cancelRequested"]) == (
        "RECEIVED",
        "customer called first",
        True,
    )
    assert shown["workflowStatus"] == "NOT_STARTED"
    human = await run("cancel", order_id, "--reason", "again")
    assert human.exit_code == 0
    assert human.stdout == "accepted: not received yet: it will be cancelled when it arrives\n"


async def test_without_a_worker_status_cancel_and_resolve_say_so(
    dev_env: WorkflowEnvironment,
    temporal_env: pytest.MonkeyPatch,
    clients: AwsClients,
    settings: Settings,
    order_id: str,
) -> None:
    temporal_env.setattr(order_client, "QUERY_TIMEOUT", timedelta(seconds=0.5))
    temporal_env.setattr(order_client, "UPDATE_TIMEOUT", timedelta(seconds=0.5))
    nobody = f"nobody-{order_id}"
    workflow_id = await start_order(dev_env.client, clients, settings, nobody, order_id, "ANY")

    status = await run("status", order_id)
    cancel = await run("cancel", order_id, "--reason", "x")
    resolve = await run("resolve", order_id, "--step", "void_payment", "--note", "x")

    assert status.exit_code == 1
    assert "no worker answered the status query within 0.5 s" in error_line(status)
    assert cancel.exit_code == 1
    assert "no worker answered the cancel request" in error_line(cancel)
    assert resolve.exit_code == 1
    assert "no worker answered the resolve request" in error_line(resolve)

    # Terminated in Temporal: no result, the status says so.
    await dev_env.client.get_workflow_handle(workflow_id).terminate("test over")
    closed = json.loads((await run("status", order_id, "--json")).stdout)
    assert closed["workflowStatus"] == "TERMINATED"
    assert closed["reason"].startswith("workflow terminated")


async def test_without_a_worker_the_message_names_the_orders_task_queue(
    dev_env: WorkflowEnvironment,
    temporal_env: pytest.MonkeyPatch,
    clients: AwsClients,
    settings: Settings,
    order_id: str,
) -> None:
    temporal_env.setattr(order_client, "QUERY_TIMEOUT", timedelta(seconds=0.5))
    nobody = f"nobody-{order_id}"
    workflow_id = await start_order(dev_env.client, clients, settings, nobody, order_id, "ANY")
    try:
        status = await run("status", order_id)
    finally:
        await dev_env.client.get_workflow_handle(workflow_id).terminate("test over")

    assert status.exit_code == 1
    assert nobody in error_line(status)


@pytest.mark.parametrize(
    "args",
    [
        ["--step", "teleport", "--note", "x"],
        ["--step", "void_payment", "--note", ""],
        ["--step", "void_payment", "--note", "x" * 201],
    ],
)
def test_resolve_refuses_bad_input(cli: pytest.MonkeyPatch, args: list[str]) -> None:
    result = invoke("resolve", "ORD-1", *args)

    assert result.exit_code == 2
    wrong = "--step must be one of" if args[1] == "teleport" else "--note must be 1 to 200"
    assert wrong in error_line(result)


def test_list_refuses_an_unknown_state(cli: pytest.MonkeyPatch) -> None:
    result = invoke("list", "--status", "SHIPPING")

    assert result.exit_code == 2
    assert "--status must be one of" in error_line(result)


def test_temporal_unreachable_suggests_oms_dev(cli: pytest.MonkeyPatch) -> None:
    cli.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    result = invoke("list")

    assert result.exit_code == 1
    assert "cannot reach Temporal at 127.0.0.1:1" in error_line(result)
    assert "`oms dev`" in error_line(result)
