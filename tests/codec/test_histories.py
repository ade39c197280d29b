"""The demo's scenarios against a real dev server with the real codec: the stored histories carry
no customer data in plain text, and the codec server (`oms codec-server`) reads it back."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from google.protobuf import json_format
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.delivery.contract import CarrierStatus, DeliveryState, delivery_id
from oms.delivery.payloads import CarrierEvent
from oms.delivery.workflow import DeliveryWorkflow
from oms.intake.records import Message, OrderIntake
from oms.local.demo_orders import SCENARIOS, Scenario, order_body
from oms.local.stack import free_port
from oms.orders.client import OrderClient
from oms.orders.contract import CANCEL_SIGNAL, OrderState, order_workflow_id
from oms.orders.payloads import CancelRequest, OrderStatus
from oms.orders.workflow import OrderWorkflow
from oms.polling import poll_until
from oms.resources import QueueUrls
from oms.returns.client import ReturnClient
from oms.returns.contract import ReturnState
from oms.temporal_client import data_converter
from oms.worker import build_worker

from ..conftest import process_env

pytestmark = pytest.mark.e2e
UI = "http://127.0.0.1:8233"


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    line1: str

    @property
    def secrets(self) -> list[str]:
        return [self.name, self.email, self.line1]


def customer() -> Customer:
    tag = uuid.uuid4().hex[:8]
    return Customer(f"Zelda Quux {tag}", f"zelda.{tag}@example.org", f"{tag} Privet Drive")


def body(scenario: Scenario, order_id: str, sku: str, who: Customer) -> str:
    document = order_body(order_id, lines={sku: 1}, token=scenario.token)
    document["customer"].update(name=who.name, email=who.email)
    document["customer"]["address"]["line1"] = who.line1
    return json.dumps(document)


@pytest.fixture(scope="module")
def encrypted_settings(settings: Settings, kms: Any, key_arn: str) -> Settings:
    return settings.model_copy(
        update={
            "payload_key_id": key_arn,
            "task_queue": f"codec-{uuid.uuid4().hex[:6]}",
            "step_latency_ms": 50,  # so the cancellation lands while the order is in flight
        }
    )


@pytest.fixture(scope="module")
async def encrypted_client(
    dev_env: WorkflowEnvironment, dev_address: str, encrypted_settings: Settings, kms: Any
) -> Client:
    return await Client.connect(dev_address, data_converter=data_converter(encrypted_settings, kms))


@pytest.fixture(scope="module")
async def running_worker(
    encrypted_client: Client, encrypted_settings: Settings, moto_endpoint: str
) -> AsyncIterator[None]:
    with ThreadPoolExecutor(encrypted_settings.max_concurrent_activities) as executor:
        worker = build_worker(encrypted_client, encrypted_settings, executor)
        async with worker:
            yield


TOKEN = "test-token-" + "x" * 32


@pytest.fixture(scope="module")
def codec_server(
    moto_endpoint: str, dev_address: str, encrypted_settings: Settings
) -> Iterator[str]:
    port = free_port()
    env = {
        **process_env(moto_endpoint, dev_address, encrypted_settings),
        "OMS_CODEC_SERVER_TOKEN": TOKEN,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "oms", "codec-server", "--port", str(port), "--cors-origin", UI],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


async def post_decode(endpoint: str, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """POST /decode as the UI does, retrying until the server listens (deadline 20 s)."""
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.post(
                    f"{endpoint}/decode",
                    json={"payloads": payloads},
                    headers={
                        "X-Namespace": "default",
                        "Origin": UI,
                        "Authorization": f"Bearer {TOKEN}",
                    },
                ) as answer:
                    assert answer.status == 200, await answer.text()
                    assert answer.headers["Access-Control-Allow-Origin"] == UI
                    decoded: list[dict[str, Any]] = (await answer.json())["payloads"]
                    return decoded
            except aiohttp.ClientConnectionError:
                assert time.monotonic() < deadline, "codec server did not start"
                await asyncio.sleep(0.1)


def payloads_in(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Payload in history events (protobuf JSON) with its path: dicts whose metadata
    has an `encoding`."""
    if isinstance(node, dict):
        if isinstance(node.get("metadata"), dict) and "encoding" in node["metadata"]:
            yield path, node
            return
        for key, value in node.items():
            yield from payloads_in(value, f"{path}.{key}")
    elif isinstance(node, list):
        for value in node:
            yield from payloads_in(value, path)


async def deliver(client: Client, order_id: str) -> None:
    """The carrier says DELIVERED for the order's parcel; until its delivery has it."""
    delivery = client.get_workflow_handle_for(DeliveryWorkflow.run, delivery_id(order_id, 1))
    parcel = await poll_until(
        lambda: delivery.query(DeliveryWorkflow.status),
        lambda _: True,
        within=30,
        what="the parcel's delivery",
    )
    event = CarrierEvent(
        event_id=f"evt-{order_id}",
        tracking_number=parcel.tracking_number,
        status=CarrierStatus.DELIVERED,
        at=datetime.now(UTC),
    )
    await delivery.signal(DeliveryWorkflow.carrier_event, event)
    await poll_until(
        lambda: delivery.query(DeliveryWorkflow.status),
        lambda s: s.state == DeliveryState.DELIVERED,
        within=30,
        what="the parcel delivered",
    )


def readable_text(document: Any, payloads: list[dict[str, Any]]) -> str:
    """The history as JSON plus every payload's base64 `data` decoded."""
    data = [base64.b64decode(p.get("data", "")).decode(errors="replace") for p in payloads]
    return json.dumps(document) + "\n".join(data)


async def test_histories_hold_no_customer_data_and_the_codec_server_reads_it(
    encrypted_client: Client,
    encrypted_settings: Settings,
    running_worker: None,
    codec_server: str,
    dev_address: str,
    clients: AwsClients,
    queues: QueueUrls,
) -> None:
    # Given every demo scenario started through the intake, each order a different customer
    sku, sold_out = f"SKU-{uuid.uuid4().hex[:8]}", f"SKU-{uuid.uuid4().hex[:8]}"
    ledger = clients.ledger(encrypted_settings)
    ledger.set_stock(sku, 100)
    ledger.set_stock(sold_out, 0)
    orders_client = OrderClient(encrypted_client, ledger, task_queue=encrypted_settings.task_queue)
    intake = OrderIntake(orders=orders_client, sqs=clients.sqs, dlq_url=queues.dlq)
    orders: dict[str, tuple[Scenario, Customer]] = {}
    for scenario in SCENARIOS.values():
        order_id, who = f"PII-{scenario.name}-{uuid.uuid4().hex[:6]}", customer()
        line_sku = sold_out if scenario.sold_out else sku
        message = Message(message_id=uuid.uuid4().hex, body=body(scenario, order_id, line_sku, who))
        await intake.accept(message)
        if scenario.cancel:
            handle = encrypted_client.get_workflow_handle(order_workflow_id(order_id))
            await handle.signal(CANCEL_SIGNAL, CancelRequest(reason=scenario.reason or "x"))
        orders[order_id] = (scenario, who)

    # When they all reach their outcome (decoded through the codec)
    async with asyncio.timeout(60):
        for order_id, (scenario, _) in orders.items():
            handle: WorkflowHandle[Any, OrderStatus] = encrypted_client.get_workflow_handle(
                order_workflow_id(order_id), result_type=OrderStatus
            )
            result = await handle.result()
            assert result.state == scenario.expected, order_id
            # the status query's answer is a payload too
            assert (await handle.query(OrderWorkflow.status)).state == scenario.expected

    # And a completed order's customer returns it (the return reads the order's encrypted input)
    returned = next(o for o, (s, _) in orders.items() if s.expected == OrderState.COMPLETED)
    await deliver(encrypted_client, returned)  # only delivered units can be returned
    returns = ReturnClient(orders_client)
    opened = await returns.open(returned, {sku: 1}, reason="does not fit")
    await returns.receive(opened.return_id, None)
    async with asyncio.timeout(60):
        assert (await returns.result(opened.return_id)).state == ReturnState.COMPLETED
    workflows = {order_workflow_id(o): (who, who.secrets) for o, (_, who) in orders.items()}
    who = orders[returned][1]
    workflows[opened.return_id] = (who, [who.name, who.email])  # a return needs no address

    # Then the raw histories, read WITHOUT the codec, hold none of their customers' data
    plain_client = await Client.connect(dev_address)
    for order_id, (who, carried) in workflows.items():
        history = await plain_client.get_workflow_handle(order_id).fetch_history()
        document = [json_format.MessageToDict(event) for event in history.events]
        raw = b"".join(event.SerializeToString() for event in history.events)
        found = list(payloads_in(document))
        # Search attributes are indexed, never encoded (nor personal): the rest is encrypted
        payloads = [p for path, p in found if ".searchAttributes." not in path]
        assert len(payloads) >= 5, order_id  # input, activity inputs/results, result...
        stored = readable_text(document, [p for _, p in found])
        for secret in who.secrets:
            assert secret not in stored, f"{secret!r} readable in {order_id}'s history"
            assert secret.encode() not in raw
        encodings = {base64.b64decode(p["metadata"]["encoding"]) for p in payloads}
        assert encodings == {b"binary/encrypted"}, order_id

        # And the codec server (as the UI calls it) shows them to whoever may call KMS
        decoded = readable_text([], await post_decode(codec_server, payloads))
        for secret in carried:
            assert secret in decoded, f"{secret!r} not found through /decode in {order_id}"
