"""The starter handler against a real dev server and moto's SQS."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from oms.intake import starter
from oms.intake.bridge import LocalContext
from oms.local.demo_orders import order_body
from oms.ops.dlq import DeadLetter, list_dead_letters
from oms.orders.contract import order_workflow_id
from oms.orders.models import parse_order
from oms.orders.records import OrderEntry
from oms.resources import QueueUrls

from .events import event, record


def dead_letters_for(clients_sqs: Any, queues: QueueUrls, marker: str) -> list[DeadLetter]:
    return [d for d in list_dead_letters(clients_sqs, queues.dlq, limit=1000) if marker in d.body]


async def fingerprint_of(
    runtime: starter.StarterRuntime, env: WorkflowEnvironment, order_id: str
) -> str | None:
    """The fingerprint the ledger kept for a started order (its workflow exists too)."""
    await env.client.get_workflow_handle(order_workflow_id(order_id)).describe()
    entry = await asyncio.to_thread(runtime.intake.orders.ledger.get, OrderEntry, order_id)
    assert entry is not None
    assert entry.started
    return entry.fingerprint


def handle(batch: dict[str, Any]) -> dict[str, Any]:
    return starter.lambda_handler(batch, LocalContext())


async def test_a_mixed_batch_starts_exactly_the_right_workflows(
    starter_runtime: starter.StarterRuntime,
    dev_env: WorkflowEnvironment,
    queues: QueueUrls,
) -> None:
    tag = uuid.uuid4().hex[:8]
    first = order_body(f"MIX-{tag}-1")
    second = order_body(f"MIX-{tag}-2", lines={"CAP-GRN": 1})
    earlier = order_body(f"MIX-{tag}-0")
    assert await asyncio.to_thread(handle, event(record(earlier))) == {"batchItemFailures": []}

    conflicting = order_body(f"MIX-{tag}-0", lines={"MUG-RED": 5})
    not_json = f"{{not json {tag}"
    broken = {**order_body(f"MIX-{tag}-3"), "totalAmount": "1.00"}
    batch = event(
        record(first),
        record(second),
        record(first),  # duplicate within the batch
        record(earlier),  # duplicate of a workflow started earlier
        record(conflicting),
        record(not_json),
        record(broken),
    )

    # The handler runs outside any event loop, as in Lambda.
    response = await asyncio.to_thread(handle, batch)

    assert response == {"batchItemFailures": []}  # nothing transient: nothing to retry
    for body in (first, second, earlier):
        order = parse_order(json.dumps(body))
        assert await fingerprint_of(starter_runtime, dev_env, order.order_id) == order.fingerprint()
    letters = {d.body: d for d in dead_letters_for(starter_runtime.intake.sqs, queues, tag)}
    assert set(letters) == {json.dumps(conflicting), not_json, json.dumps(broken)}
    assert letters[json.dumps(conflicting)].kind == "conflict"
    assert "different content" in letters[json.dumps(conflicting)].reason
    assert letters[not_json].kind == "invalid"
    assert "not valid JSON" in letters[not_json].reason
    assert letters[json.dumps(broken)].reason.startswith("totalAmount:")
    # The first message of the conflicting id is kept, not merged or replaced.
    kept = parse_order(json.dumps(earlier))
    assert await fingerprint_of(starter_runtime, dev_env, kept.order_id) == kept.fingerprint()


async def test_a_duplicate_after_the_workflow_closed_is_acknowledged(
    starter_runtime: starter.StarterRuntime,
    dev_env: WorkflowEnvironment,
) -> None:
    body = order_body(f"CLOSED-{uuid.uuid4().hex[:8]}")
    assert await asyncio.to_thread(handle, event(record(body))) == {"batchItemFailures": []}
    workflow = dev_env.client.get_workflow_handle(order_workflow_id(body["orderId"]))
    await workflow.terminate(reason="test: close it")  # closed, whatever the outcome

    response = await asyncio.to_thread(handle, event(record(body)))

    assert response == {"batchItemFailures": []}
    runs = [w async for w in dev_env.client.list_workflows(f"WorkflowId = '{workflow.id}'")]
    assert len(runs) == 1  # REJECT_DUPLICATE: never a second run


async def test_the_handler_reuses_one_client_and_one_loop(
    starter_runtime: starter.StarterRuntime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # Powertools' Lambda mode
    client, loop = starter_runtime.intake.orders.temporal, starter_runtime.loop.loop
    for _ in range(2):
        body = order_body(f"REUSE-{uuid.uuid4().hex[:8]}")
        assert await asyncio.to_thread(handle, event(record(body))) == {"batchItemFailures": []}
        assert starter.configure() is starter_runtime
        assert starter_runtime.intake.orders.temporal is client
        assert starter_runtime.loop.loop is loop
    starter_threads = [t for t in threading.enumerate() if t.name == "oms-starter"]
    assert len(starter_threads) == 1  # one loop thread per process, not one per invocation


async def test_logs_name_orders_but_never_customers(
    starter_runtime: starter.StarterRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    body = order_body(f"PII-{uuid.uuid4().hex[:8]}", customer=77)
    broken = {**body, "orderId": f"PII-{uuid.uuid4().hex[:8]}", "totalAmount": "0.01"}
    with caplog.at_level("DEBUG"):
        await asyncio.to_thread(handle, event(record(body), record(body), record(broken)))
    assert body["orderId"] in caplog.text
    customer = body["customer"]
    for personal in (customer["email"], customer["name"], customer["address"]["line1"]):
        assert personal not in caplog.text
    assert "tok_visa" not in caplog.text


async def test_a_redelivery_after_the_history_is_gone_is_still_a_duplicate(
    starter_runtime: starter.StarterRuntime,
    dev_env: WorkflowEnvironment,
    queues: QueueUrls,
) -> None:
    """Temporal's retention deletes closed workflows; the ledger's order entry outlives them, so
    a message redelivered weeks later neither starts the order again nor passes a conflict."""
    tag = uuid.uuid4().hex[:8]
    body = order_body(f"GONE-{tag}")
    assert await asyncio.to_thread(handle, event(record(body))) == {"batchItemFailures": []}
    workflow_id = order_workflow_id(body["orderId"])
    # Deleting a running workflow is immediate (a closed one's deletion waits for a timer).
    await dev_env.client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=dev_env.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        )
    )
    async with asyncio.timeout(30):
        while True:
            try:
                await dev_env.client.get_workflow_handle(workflow_id).describe()
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    break
                raise
            await asyncio.sleep(0.2)

    conflicting = order_body(f"GONE-{tag}", lines={"MUG-RED": 5})
    response = await asyncio.to_thread(handle, event(record(body), record(conflicting)))

    assert response == {"batchItemFailures": []}
    with pytest.raises(RPCError) as gone:  # not started again
        await dev_env.client.get_workflow_handle(workflow_id).describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND
    letters = dead_letters_for(starter_runtime.intake.sqs, queues, f"GONE-{tag}")
    assert [(d.body, d.kind) for d in letters] == [(json.dumps(conflicting), "conflict")]


def _priced(order_id: str, currency: str, price: str) -> dict[str, Any]:
    body = order_body(order_id, lines={"MUG-RED": 1})
    body["currency"] = currency
    body["items"][0]["unitPrice"] = body["totalAmount"] = price
    return body


async def test_amounts_beyond_the_currency_minor_unit_are_dead_lettered_with_the_reason(
    starter_runtime: starter.StarterRuntime,
    dev_env: WorkflowEnvironment,
    queues: QueueUrls,
) -> None:
    """§4: JPY 1000.50 and KWD 12.3456 are invalid (one-line reason in the DLQ), KWD 12.345
    starts an order."""
    tag = uuid.uuid4().hex[:8]
    yen = _priced(f"JPY-{tag}", "JPY", "1000.50")
    dinar = _priced(f"KWD-{tag}", "KWD", "12.3456")
    valid = _priced(f"KWD-{tag}-OK", "KWD", "12.345")
    response = await asyncio.to_thread(handle, event(record(yen), record(dinar), record(valid)))

    assert response == {"batchItemFailures": []}
    letters = {d.body: d for d in dead_letters_for(starter_runtime.intake.sqs, queues, tag)}
    assert set(letters) == {json.dumps(yen), json.dumps(dinar)}
    assert "more decimal places than JPY allows (0)" in letters[json.dumps(yen)].reason
    assert "more decimal places than KWD allows (3)" in letters[json.dumps(dinar)].reason
    assert all("\n" not in letter.reason for letter in letters.values())
    started = parse_order(json.dumps(valid))
    assert started.total_minor == 12345
    assert await fingerprint_of(starter_runtime, dev_env, started.order_id) == started.fingerprint()
