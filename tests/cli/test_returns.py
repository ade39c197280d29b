"""`oms return ...` against the dev server and the in-process worker: open, status, receive,
cancel, with one JSON document on stdout and one-line errors with exit codes 1 and 2."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from typer.testing import Result

from oms.local.demo_orders import order_body
from oms.orders.client import OrderClient
from oms.orders.contract import OrderState
from oms.orders.models import parse_order
from oms.returns.client import ReturnClient

from .conftest import error_line, invoke


async def run(*args: str) -> Result:
    return await asyncio.to_thread(invoke, *args)


@pytest.fixture
def return_env(
    cli: pytest.MonkeyPatch, dev_address: str, order_client: OrderClient
) -> pytest.MonkeyPatch:
    cli.setenv("TEMPORAL_ADDRESS", dev_address)
    cli.setenv("TEMPORAL_NAMESPACE", "default")
    cli.setenv("OMS_TASK_QUEUE", order_client.task_queue)
    return cli


async def completed(orders: OrderClient) -> tuple[str, str]:
    order_id, sku = f"C-{uuid.uuid4().hex[:10]}", f"CSKU-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(orders.ledger.set_stock, sku, 5)
    await orders.submit(parse_order(json.dumps(order_body(order_id, lines={sku: 2}))))
    assert (await orders.result(order_id)).state == OrderState.COMPLETED
    return order_id, sku


async def test_open_receive_and_status(
    return_env: pytest.MonkeyPatch, order_client: OrderClient
) -> None:
    order_id, sku = await completed(order_client)

    opened = await run("return", order_id, "--item", f"{sku}=2", "--reason", "n/a", "--json")
    assert opened.exit_code == 0, opened.output
    document = json.loads(opened.stdout)
    assert document["orderId"] == order_id
    assert document["state"] in ("REQUESTED", "AWAITING_PARCEL")  # held: instructions next
    rid = document["returnId"]

    received = await run("return", "receive", rid, "--item", f"{sku}=1", "--json")
    assert received.exit_code == 0, received.output
    await ReturnClient(order_client).result(rid)
    status = await run("return", "status", rid, "--json")

    assert status.exit_code == 0, status.output
    view = json.loads(status.stdout)
    assert {"returnId", "orderId", "state", "items", "refundAmount", "steps"} <= set(view)
    assert view["state"] == "COMPLETED"
    assert view["refundAmount"] == "1.00"  # one accepted unit at the order's price
    late = await run("return", "cancel", rid)
    assert late.exit_code == 1
    over = await run("return", order_id, "--item", f"{sku}=2", "--reason", "again")
    assert over.exit_code == 1
    assert "not returnable" in error_line(over)


async def test_bad_input_is_exit_2(return_env: pytest.MonkeyPatch) -> None:
    for args in (
        ("return", "ORD-1", "--reason", "x"),
        ("return", "ORD-1", "--item", "MUG=x", "--reason", "x"),
        ("return", "status", "ORD-1"),
    ):
        result = await run(*args)
        assert result.exit_code == 2, (args, result.output)
        error_line(result)


async def test_unknown_order_is_exit_1(return_env: pytest.MonkeyPatch) -> None:
    result = await run("return", f"NOPE-{uuid.uuid4().hex[:6]}", "--item", "A=1", "--reason", "x")
    assert result.exit_code == 1
    assert "no order" in error_line(result)
