"""OrderClient: the ledger's order entry decides duplicates and conflicts (even without
Temporal), and a cancellation that arrives before its order is kept and applied."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.local.demo_orders import order_body
from oms.local.moto import sent_emails
from oms.mail.mailer import Email
from oms.orders.client import OrderClient, OrderNotFoundError, Submission
from oms.orders.contract import ORDER_STATUS_KEY, OrderState, Step, order_workflow_id
from oms.orders.ledger import Ledger
from oms.orders.models import OrderMessage, parse_order
from oms.orders.payloads import CancelRequest
from oms.orders.records import OrderEntry, Payment, RecordState, Reservation


class NoTemporal:
    """A Temporal client that must not be asked."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"Temporal was asked ({name}) but the ledger had the answer")


def order(order_id: str, **kwargs: Any) -> OrderMessage:
    return parse_order(json.dumps(order_body(order_id, **kwargs)))


@pytest.fixture(scope="module")
def ledger(clients: AwsClients, settings: Settings, queues: Any) -> Ledger:
    return clients.ledger(settings)


@pytest.fixture(scope="module")
def offline(ledger: Ledger) -> OrderClient:
    return OrderClient(NoTemporal(), ledger, task_queue="unused")  # type: ignore[arg-type]


async def test_a_started_order_is_a_duplicate_without_asking_temporal(
    offline: OrderClient, ledger: Ledger, order_id: str
) -> None:
    first = order(order_id)
    ledger.put_new(
        OrderEntry(
            order_id=order_id,
            status=RecordState.RECEIVED,
            fingerprint=first.fingerprint(),
            claimed=True,
            started=True,
        )
    )
    assert await offline.submit(first) == Submission.DUPLICATE
    assert await offline.submit(order(order_id, lines={"MUG-RED": 5})) == Submission.CONFLICT
    entry = ledger.get(OrderEntry, order_id)
    assert entry is not None
    assert entry.fingerprint == first.fingerprint()  # the first body is kept


async def test_a_cancelled_order_that_arrives_later_ends_cancelled_at_once(
    order_client: OrderClient, dev_env: WorkflowEnvironment, ledger: Ledger,
    moto_endpoint: str, order_id: str, sku: str,
) -> None:  # fmt: skip
    await asyncio.to_thread(ledger.set_stock, sku, 5)
    with pytest.raises(OrderNotFoundError):
        await order_client.status(order_id)

    with pytest.raises(OrderNotFoundError):  # a mistyped id is refused...
        await order_client.cancel_order(order_id, CancelRequest(reason="customer called first"))
    early = await order_client.cancel_order(  # ...an order announced as not submitted yet is kept
        order_id, CancelRequest(reason="customer called first"), before_start=True
    )

    assert (early.accepted, early.state) == (True, OrderState.RECEIVED)
    waiting = await order_client.status(order_id)
    assert (waiting.state, waiting.cancel_requested) == (OrderState.RECEIVED, True)
    assert waiting.reason == "customer called first"

    message = order(order_id, lines={sku: 2})
    assert await order_client.submit(message) == Submission.STARTED
    async with asyncio.timeout(30):
        final = await order_client.result(order_id)

    assert final.state == OrderState.CANCELLED
    assert final.reason == "customer called first"
    assert [s.step for s in final.steps] == [Step.NOTIFY_CUSTOMER]  # nothing else ran
    assert await asyncio.to_thread(ledger.get, Reservation, order_id) is None
    assert await asyncio.to_thread(ledger.get, Payment, order_id) is None
    stock = await asyncio.to_thread(ledger.get_stock, sku)
    assert stock is not None
    assert (stock.available, stock.reserved) == (5, 0)
    email = await asyncio.to_thread(ledger.get, Email, order_id, "EMAIL#CANCELLED")
    assert email is not None
    assert email.status == RecordState.SENT
    mine = [e for e in sent_emails(moto_endpoint) if order_id in e.subject]
    assert len(mine) == 1
    description = await dev_env.client.get_workflow_handle(order_workflow_id(order_id)).describe()
    assert description.typed_search_attributes.get(ORDER_STATUS_KEY) == "CANCELLED"
    # The redelivered message is a duplicate: no second run, no second email.
    assert await order_client.submit(message) == Submission.DUPLICATE
    refused = await order_client.cancel_order(order_id, CancelRequest(reason="again"))
    assert (refused.accepted, refused.state) == (False, OrderState.CANCELLED)


async def test_an_order_runs_to_completion_with_the_real_activities(
    order_client: OrderClient, ledger: Ledger, order_id: str, sku: str
) -> None:
    await asyncio.to_thread(ledger.set_stock, sku, 5)
    assert await order_client.submit(order(order_id, lines={sku: 2})) == Submission.STARTED
    async with asyncio.timeout(30):
        final = await order_client.result(order_id)

    assert final.state == OrderState.COMPLETED, final
    assert [s.step for s in final.steps] == [
        Step.RESERVE_INVENTORY,
        Step.AUTHORIZE_PAYMENT,
        Step.PREPARE_SHIPMENT,
        Step.CAPTURE_PAYMENT,
        Step.SHIP,
        Step.NOTIFY_CUSTOMER,
    ]
    assert final.tracking_number is not None
    stock = await asyncio.to_thread(ledger.get_stock, sku)
    assert stock is not None
    assert (stock.available, stock.reserved) == (3, 0)
    payment = await asyncio.to_thread(ledger.get, Payment, order_id)
    assert payment is not None
    assert (payment.status, payment.captured) == (RecordState.CAPTURED, payment.amount)


@pytest.mark.parametrize(
    ("token", "voided"), [("tok_declined", False), ("tok_capture_declined", True)]
)
async def test_a_declined_payment_fails_the_order_and_releases_the_stock(
    order_client: OrderClient, ledger: Ledger, sku: str, token: str, voided: bool
) -> None:
    order_id = f"T-{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(ledger.set_stock, sku, 5)
    await order_client.submit(order(order_id, lines={sku: 1}, token=token))
    async with asyncio.timeout(30):
        final = await order_client.result(order_id)

    assert (final.state, final.reason) == (OrderState.FAILED, "PAYMENT_DECLINED")
    stock = await asyncio.to_thread(ledger.get_stock, sku)
    assert stock is not None
    assert (stock.available, stock.reserved) == (5, 0)
    payment = await asyncio.to_thread(ledger.get, Payment, order_id)
    if voided:  # authorized, declined at capture: the hold is voided, nothing captured
        assert payment is not None
        assert (payment.status, payment.captured) == (RecordState.VOIDED, 0)
    else:  # declined at authorization: nothing held, nothing to void
        assert payment is None or payment.authorization_id is None
