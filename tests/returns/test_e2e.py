"""Returns end to end on the dev server with the product's worker and activities against moto:
open on a completed order, receive, refund, restock, one email per event; the CLI on top."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import pytest

from oms.local.demo_orders import order_body
from oms.local.faults import clear_faults, set_fault
from oms.mail.mailer import Email
from oms.ops.doctor import Doctor
from oms.orders.client import OrderClient
from oms.orders.contract import OrderState
from oms.orders.ledger import Ledger
from oms.orders.models import parse_order
from oms.orders.records import Payment
from oms.polling import poll_until
from oms.process.visibility import attention_query
from oms.returns.book import NotReturnableError
from oms.returns.client import ReturnClient, ReturnNotFoundError
from oms.returns.contract import ReturnEvent, ReturnState, return_id

PRICE = Decimal("12.50")


async def completed_order(
    orders: OrderClient, ledger: Ledger, quantity: int = 2
) -> tuple[str, str]:
    """A shipped order of `quantity` units of a fresh SKU; (order id, sku)."""
    order_id, sku = f"R-{uuid.uuid4().hex[:10]}", f"RSKU-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(ledger.set_stock, sku, 10)
    body = order_body(order_id, lines={sku: quantity}, prices={sku: PRICE})
    await orders.submit(parse_order(json.dumps(body)))
    assert (await orders.result(order_id)).state == OrderState.COMPLETED
    return order_id, sku


def emails(ledger: Ledger, order_id: str, rid: str) -> set[ReturnEvent]:
    return {
        event
        for event in ReturnEvent
        if ledger.get(Email, order_id, f"{Email.KIND}#{rid}-{event.value}") is not None
    }


async def test_receive_refunds_restocks_and_emails_once_each(
    order_client: OrderClient, ledger: Ledger
) -> None:
    returns = ReturnClient(order_client)
    order_id, sku = await completed_order(order_client, ledger)

    opened = await returns.open(order_id, {sku: 2}, reason="too small", request_id="rq-1")
    again = await returns.open(order_id, {sku: 2}, reason="too small", request_id="rq-1")
    answer = await returns.receive(opened.return_id, {sku: 1})
    result = await returns.result(opened.return_id)

    assert opened.return_id == again.return_id == return_id(order_id, 1)
    assert answer.accepted
    assert result.state == ReturnState.COMPLETED
    assert result.refund_amount == PRICE
    payment = ledger.get(Payment, order_id)
    assert payment is not None
    assert payment.refunded == PRICE
    stock = ledger.get_stock(sku)
    assert stock is not None
    assert stock.available == 10 - 2 + 1
    assert emails(ledger, order_id, opened.return_id) == {
        ReturnEvent.INSTRUCTIONS,
        ReturnEvent.REFUNDED,
    }
    # The unit that was not accepted can be returned again, and no more than that.
    with pytest.raises(NotReturnableError, match="only 1"):
        await returns.open(order_id, {sku: 2}, reason="again")


async def test_concurrent_returns_for_the_last_unit_one_wins_and_cancel_frees_it(
    order_client: OrderClient, ledger: Ledger
) -> None:
    returns = ReturnClient(order_client)
    order_id, sku = await completed_order(order_client, ledger, quantity=1)

    outcomes = await asyncio.gather(
        *(returns.open(order_id, {sku: 1}, reason="broken") for _ in range(3)),
        return_exceptions=True,
    )
    opened = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(opened) == 1
    assert all(isinstance(o, NotReturnableError) for o in outcomes if o not in opened)

    cancelled = await returns.cancel(opened[0].return_id, "kept it")
    result = await returns.result(opened[0].return_id)
    assert cancelled.accepted
    assert result.state == ReturnState.CANCELLED
    assert emails(ledger, order_id, opened[0].return_id) == {
        ReturnEvent.INSTRUCTIONS,
        ReturnEvent.CANCELLED,
    }
    reopened = await returns.open(order_id, {sku: 1}, reason="broken after all")
    # The refused requests keep their numbers (each a REJECTED return with its reason).
    assert reopened.return_id == return_id(order_id, 4)
    others = {return_id(order_id, n) for n in (1, 2, 3)} - {opened[0].return_id}
    refused = [await returns.status(rid) for rid in sorted(others)]
    assert [r.state for r in refused] == [ReturnState.REJECTED] * 2
    assert all(r.reason == "NOT_RETURNABLE" for r in refused)
    await returns.cancel(reopened.return_id, "test cleanup")


async def test_only_completed_orders_within_the_window_are_returnable(
    order_client: OrderClient, ledger: Ledger
) -> None:
    order_id, sku = await completed_order(order_client, ledger)

    with pytest.raises(NotReturnableError, match="only 2"):
        await ReturnClient(order_client).open(order_id, {sku: 3}, reason="too many")


async def test_a_return_cut_off_between_its_number_and_its_start_strands_nothing(
    order_client: OrderClient, ledger: Ledger
) -> None:
    # Given `oms return` killed right after the return was numbered, before its workflow started
    returns = ReturnClient(order_client)
    order_id, sku = await completed_order(order_client, ledger)
    cut = await asyncio.to_thread(returns.book.allocate, order_id, "rq-cut")
    with pytest.raises(ReturnNotFoundError):
        await returns.status(return_id(order_id, cut.number))

    # Then no unit is held: another request can return every unit shipped
    other = await returns.open(order_id, {sku: 2}, reason="other request", request_id="rq-other")
    assert other.state in (ReturnState.REQUESTED, ReturnState.AWAITING_PARCEL)  # held
    await returns.cancel(other.return_id, "test cleanup")
    assert (await returns.result(other.return_id)).state == ReturnState.CANCELLED

    # And the same request sent again resumes under its number and holds then
    resumed = await returns.open(order_id, {sku: 2}, reason="retried", request_id="rq-cut")
    assert resumed.return_id == return_id(order_id, cut.number)
    assert resumed.state in (ReturnState.REQUESTED, ReturnState.AWAITING_PARCEL)
    await returns.cancel(resumed.return_id, "test cleanup")


async def test_a_dynamodb_fault_during_the_refund_needs_attention_then_recovers_by_itself(
    order_client: OrderClient, ledger: Ledger, moto_endpoint: str
) -> None:
    # Given a received return whose refund meets a DynamoDB outage, past a 1 s attention window
    returns = ReturnClient(order_client, attention_after_seconds=1)
    order_id, sku = await completed_order(order_client, ledger)
    opened = await returns.open(order_id, {sku: 1}, reason="broken", request_id="rq-fault")
    await poll_until(  # the instructions are out: the fault meets the refund, not that email
        lambda: returns.status(opened.return_id),
        lambda s: s.state == ReturnState.AWAITING_PARCEL,
        within=30,
        what="the return to await its parcel",
    )
    set_fault(moto_endpoint, "dynamodb", seconds=60)
    try:
        await returns.receive(opened.return_id, {sku: 1})

        # Then it needs attention, where the doctor and the attention metric look
        waiting = await poll_until(
            lambda: returns.status(opened.return_id),
            lambda s: s.attention,
            within=60,
            what="the return to need attention",
        )
        assert waiting.state == ReturnState.RECEIVED
        listed = await poll_until(
            lambda: needing_attention(order_client),
            lambda ids: opened.return_id in ids,
            within=30,
            what="the attention query to list the return",
        )
        doctor = Doctor(orders=order_client, ledger=ledger, sqs=None, dlq_url="")
        subjects = {finding.subject for finding in await doctor.needs_attention()}
    finally:
        clear_faults(moto_endpoint, "dynamodb")
    assert opened.return_id in listed
    assert opened.return_id in subjects

    # And when DynamoDB is back it refunds by itself: REFUNDED, attention cleared
    result = await returns.result(opened.return_id)
    assert result.state == ReturnState.COMPLETED
    assert result.refund_amount == PRICE
    assert not result.attention
    assert opened.return_id not in await needing_attention(order_client)


async def needing_attention(orders: OrderClient) -> set[str]:
    query = attention_query(orders.task_queue)
    return {execution.id async for execution in orders.temporal.list_workflows(query)}
