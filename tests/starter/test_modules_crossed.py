"""The modules of `service/oms` one order crosses from its SQS record to its email, and one
return from `open` to its refund email, counted by tracing a real run: the starter's handler
on an SQS event, then the product's worker (`oms.worker.build_worker`) on the dev server
against moto. The README states both numbers (Layout); this keeps them true, and a change
that makes an order cross more code shows up here as a number to explain."""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import oms
from oms.aws import AwsClients
from oms.config import Settings
from oms.delivery.contract import STATUS_QUERY, DeliveryState, delivery_id
from oms.delivery.payloads import DeliveryStatus
from oms.intake import starter
from oms.intake.bridge import LocalContext
from oms.local.demo_orders import order_body
from oms.loop_thread import LoopThread
from oms.orders.client import OrderClient
from oms.orders.contract import order_workflow_id
from oms.orders.workflow import OrderWorkflow
from oms.polling import poll_until
from oms.returns.client import ReturnClient
from oms.returns.contract import ReturnState
from oms.worker import build_worker

from .events import event, record

PACKAGE = Path(oms.__file__).parent
PREFIX, LOCAL = f"{PACKAGE}/", f"{PACKAGE}/local/"
README = Path(__file__).parents[2] / "README.md"


class Crossed:
    """Every module of the package whose functions run while tracing: module and class bodies
    (imports, and the workflow sandbox importing again per run) are not counted, nor `local/`
    (the moto server runs in this process; in AWS that is DynamoDB, SQS and SES)."""

    def __init__(self) -> None:
        self.files: set[str] = set()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event == "call" and _in_a_function(frame):
            name = code.co_filename
            if name.startswith(PREFIX) and not name.startswith(LOCAL):
                self.files.add(name)

    @property
    def modules(self) -> list[str]:
        return sorted(str(Path(f).relative_to(PACKAGE)) for f in self.files)

    def executor(self, settings: Settings) -> ThreadPoolExecutor:
        """Activity threads that trace from their start (they outlive one tracing block)."""
        return ThreadPoolExecutor(
            settings.max_concurrent_activities, initializer=sys.setprofile, initargs=(self,)
        )

    @contextmanager
    def tracing(self, *loops: LoopThread) -> Iterator[None]:
        """This thread, threads started from now on (the worker's workflow threads), and the
        given LoopThreads (already running)."""
        threading.setprofile(self)
        sys.setprofile(self)
        for loop in loops:
            loop.run_sync(_set_profile(self))
        try:
            yield
        finally:
            for loop in loops:
                loop.run_sync(_set_profile(None))
            sys.setprofile(None)
            threading.setprofile(None)  # None clears it


def _in_a_function(frame: FrameType) -> bool:
    """A function's frame; a comprehension or lambda counts only inside one (a module
    constant built with a generator runs at import)."""
    if not frame.f_code.co_flags & inspect.CO_OPTIMIZED:
        return False  # a module or class body
    if frame.f_code.co_name.startswith("<") and frame.f_back is not None:
        return _in_a_function(frame.f_back)
    return True


async def _set_profile(profile: Any) -> None:
    sys.setprofile(profile)


def documented(what: str) -> int:
    found = re.search(rf"[Oo]ne\s+{what}\s+crosses\s+(\d+)\s+modules", README.read_text())
    assert found, f"README states how many modules one {what} crosses"
    return int(found.group(1))


@pytest.fixture
def own_starter(
    starter_runtime: starter.StarterRuntime, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> starter.StarterRuntime:
    """The starter's runtime configured afresh (as at a cold start) for a task queue of its own,
    so only this test's worker runs what it starts."""
    monkeypatch.setattr(starter, "_runtime", None)
    queue = f"crossed-{uuid.uuid4().hex[:8]}"
    return starter.configure(settings.model_copy(update={"task_queue": queue}))


async def test_one_order_and_one_return_cross_the_documented_modules(
    own_starter: starter.StarterRuntime,
    dev_env: WorkflowEnvironment,
    clients: AwsClients,
    settings: Settings,
) -> None:
    own = settings.model_copy(update={"task_queue": own_starter.intake.orders.task_queue})
    ledger = clients.ledger(own)
    sku = f"CROSS-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(ledger.set_stock, sku, 10)
    order_id = f"CROSS-{uuid.uuid4().hex[:8]}"
    batch = event(record(order_body(order_id, lines={sku: 2})))

    order = Crossed()
    with order.executor(own) as executor:
        async with build_worker(dev_env.client, own, executor):
            with order.tracing(own_starter.loop):
                answer: list[dict[str, Any]] = []
                handler = threading.Thread(  # as Lambda runs it: outside any event loop
                    target=lambda: answer.append(starter.lambda_handler(batch, LocalContext()))
                )
                handler.start()
                await asyncio.to_thread(handler.join, 60)
                assert answer == [{"batchItemFailures": []}]
                done = await dev_env.client.get_workflow_handle_for(
                    OrderWorkflow.run, order_workflow_id(order_id)
                ).result()
            assert done.state == "COMPLETED"
            # The parcel's delivery (started at ship) settles into its wait before the return,
            # so none of its code runs while the return is traced.
            delivery = dev_env.client.get_workflow_handle(delivery_id(order_id, 1))
            await poll_until(
                lambda: delivery.query(STATUS_QUERY, result_type=DeliveryStatus),
                lambda s: s.state == DeliveryState.AWAITING_PICKUP,
                within=30,
                what="the delivery waits for the carrier",
            )

    returned = Crossed()
    returns = ReturnClient(
        OrderClient(dev_env.client, ledger, task_queue=own.task_queue),
        attention_after_seconds=own.attention_after_seconds,
    )
    with returned.executor(own) as executor:
        async with build_worker(dev_env.client, own, executor):
            with returned.tracing():
                opened = await returns.open(order_id, {sku: 1}, reason="too small")
                await returns.receive(opened.return_id, None)
                refunded = await returns.result(opened.return_id)
    assert refunded.state == ReturnState.COMPLETED  # refunded and restocked

    print("order:", len(order.modules), order.modules)  # the lists, with -s
    print("return:", len(returned.modules), returned.modules)
    assert len(order.modules) == documented("order"), order.modules
    assert len(returned.modules) == documented("return"), returned.modules
