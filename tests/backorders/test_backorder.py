"""Backorders (§6f) end to end with the real OrderWorkflow and PurchaseOrderWorkflow: confirm then
deliver; reject; no confirmation by the deadline; late past the grace; a customer's cancel while
waiting; two orders on one purchase order with partial deliveries, the oldest served first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from bench.history import actions
from oms.aws import AwsClients
from oms.config import Settings
from oms.orders.contract import (
    BACKORDERED_EMAIL,
    ORDER_STATUS_KEY,
    FailureReason,
    OrderState,
    SearchStatus,
    Step,
)
from oms.orders.gateway import SimulatedGateway
from oms.orders.payloads import CancelRequest, EditRequest
from oms.orders.records import Payment, RecordState
from oms.orders.workflow import OrderWorkflow
from oms.polling import poll_until
from oms.purchasing.contract import PurchaseOrderState, SupplierStatus
from oms.resources import QueueUrls

from .conftest import CONFIRM, GRACE, Stage

COMPENSATIONS = ["void_payment", "release_inventory"]  # the fakes' (withdrawal: the product's)


def undo_steps(steps: list[str]) -> list[str]:
    return [s for s in steps if s in COMPENSATIONS]


async def test_confirmed_then_delivered_the_order_waits_then_ships(stage: Stage) -> None:
    stage.shop.available[stage.sku] = 1
    order = await stage.order(3, "backorder-filled")
    waiting = await stage.backordered(order)
    # Reserved what exists, authorized, joined the purchase order; not captured.
    oid = waiting.order_id
    assert stage.shop.reservations[oid].lines == {stage.sku: 1}
    assert stage.shop.reservations[oid].owed == {stage.sku: 2}
    assert stage.shop.payments[oid] == "AUTHORIZED"
    described = await order.describe()
    assert described.typed_search_attributes.get(ORDER_STATUS_KEY) == SearchStatus.IN_PROGRESS
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await order.execute_update(
            OrderWorkflow.edit, EditRequest(items={stage.sku: 1}, reason="fewer")
        )
    assert "BACKORDERED" in str(refused.value.cause)

    await stage.placed()
    eta = await stage.today(days=5)
    await stage.event(stage.po(), SupplierStatus.CONFIRMED, eta=eta)
    assert await stage.emails_of(order, 1) == [BACKORDERED_EMAIL]
    assert stage.shop.emails[oid][0].eta == eta
    assert (await stage.status(order)).state == OrderState.BACKORDERED
    await stage.event(stage.po(), SupplierStatus.DELIVERED, quantity=2)

    result = await order.result()
    ended = await stage.po_result(stage.po())
    stage.recorded.append(("purchase-order-received", stage.po()))

    assert result.state == OrderState.COMPLETED
    assert [s.detail for s in result.steps if s.step == Step.BACKORDER] == [
        None,
        f"confirmed: expected by {eta.isoformat()}",
        "filled: every owed unit is reserved",
    ]
    assert await stage.emails_of(order, 2) == [BACKORDERED_EMAIL, OrderState.COMPLETED]
    assert stage.shop.shipped[stage.sku] == 3
    assert stage.shop.available[stage.sku] == 0
    assert stage.shop.payments[oid] == "CAPTURED"
    assert ended.state == PurchaseOrderState.RECEIVED
    assert [p.quantity for p in stage.shop.placed] == [2]
    # The happy path's 8, and: the join, the CONFIRMED and FILLED signals, the backordered email
    # (the refused edit never reached the history).
    assert actions(list((await order.fetch_history()).events)) == 8 + 4


async def test_a_rejected_purchase_order_fails_the_order_and_restores_stock_and_money(
    stage: Stage,
) -> None:
    stage.shop.available[stage.sku] = 1
    order = await stage.order(2, "backorder-rejected")
    oid = (await stage.backordered(order)).order_id
    await stage.placed()
    await stage.event(stage.po(), SupplierStatus.REJECTED)

    result = await order.result()

    assert result.state == OrderState.FAILED
    assert result.reason == FailureReason.BACKORDER_FAILED
    assert undo_steps(stage.shop.log[oid]) == COMPENSATIONS
    assert stage.shop.available[stage.sku] == 1
    assert stage.shop.payments[oid] == "VOIDED"
    assert await stage.emails_of(order, 1) == [OrderState.FAILED]
    assert (await stage.po_result(stage.po())).state == PurchaseOrderState.FAILED


async def test_no_confirmation_within_the_window_fails_the_order(stage: Stage) -> None:
    order = await stage.order(1, "backorder-unconfirmed")
    oid = (await stage.backordered(order)).order_id
    await stage.placed()

    result = await order.result()  # time skips to the purchase order's deadline

    assert result.reason == FailureReason.BACKORDER_FAILED
    joined = next(s.at for s in result.steps if s.step == Step.BACKORDER)
    failed = next(s for s in result.steps if (s.detail or "").startswith("failed"))
    assert "no confirmation" in (failed.detail or "")
    assert failed.at - joined >= CONFIRM
    assert stage.shop.payments[oid] == "VOIDED"
    assert stage.shop.emails[oid][-1].outcome == OrderState.FAILED
    assert len(stage.shop.emails[oid]) == 1


async def test_no_delivery_by_the_eta_and_the_grace_fails_the_order(stage: Stage) -> None:
    order = await stage.order(2, "backorder-late")
    oid = (await stage.backordered(order)).order_id
    await stage.placed()
    eta = await stage.today(days=2)
    await stage.event(stage.po(), SupplierStatus.CONFIRMED, eta=eta)
    await stage.emails_of(order, 1)
    await stage.event(stage.po(), SupplierStatus.DELIVERED, quantity=1)  # not all of it

    result = await order.result()

    assert result.reason == FailureReason.BACKORDER_FAILED
    failed = next(s for s in result.steps if (s.detail or "").startswith("failed"))
    assert failed.at.date() >= eta + GRACE
    assert [e.event or e.outcome for e in stage.shop.emails[oid]] == [
        BACKORDERED_EMAIL,
        OrderState.FAILED,
    ]
    assert stage.shop.payments[oid] == "VOIDED"
    ended = await stage.po_result(stage.po())
    assert ended.state == PurchaseOrderState.FAILED
    assert stage.shop.available[stage.sku] == 1  # the unit that came went to stock


async def test_a_customer_cancel_while_waiting_restores_everything_and_reduces_the_demand(
    stage: Stage,
) -> None:
    stage.shop.available[stage.sku] = 1
    first = await stage.order(3, "backorder-cancelled")
    first_id = (await stage.backordered(first)).order_id
    second = await stage.order(1, "backorder-after-a-cancel")
    await stage.backordered(second)

    answer = await first.execute_update(
        OrderWorkflow.cancel, CancelRequest(reason="customer changed their mind")
    )
    assert answer.accepted
    cancelled = await stage.ended(first)  # no time passes: the purchase order still collects
    await stage.placed()

    assert cancelled.state == OrderState.CANCELLED
    assert undo_steps(stage.shop.log[first_id]) == COMPENSATIONS
    withdrawn = [s.detail for s in cancelled.steps if s.step == Step.WITHDRAW_BACKORDER]
    assert withdrawn == ["left 1 purchase orders"]
    assert stage.shop.available[stage.sku] == 1
    assert stage.shop.payments[first_id] == "VOIDED"
    assert [e.outcome for e in stage.shop.emails[first_id]] == [OrderState.CANCELLED]
    po = await stage.po_status(stage.po())
    assert po.ordered == 1  # only the second order's unit was ordered
    assert {o.order_id: o.state for o in po.orders}[first_id] == "WITHDRAWN"

    await stage.event(stage.po(), SupplierStatus.CONFIRMED, eta=await stage.today(3))
    await stage.event(stage.po(), SupplierStatus.DELIVERED, quantity=1)
    assert (await second.result()).state == OrderState.COMPLETED
    stage.recorded.append(("purchase-order-withdrawn", stage.po()))


async def test_two_orders_on_one_purchase_order_the_oldest_is_served_first(stage: Stage) -> None:
    older = await stage.order(2, "backorder-older")
    older_id = (await stage.backordered(older)).order_id
    younger = await stage.order(1, "backorder-younger")
    younger_id = (await stage.backordered(younger)).order_id
    await stage.placed()
    assert [p.quantity for p in stage.shop.placed] == [3]  # one purchase order for both
    await stage.event(stage.po(), SupplierStatus.CONFIRMED, eta=await stage.today(4))
    await stage.emails_of(older, 1)
    await stage.emails_of(younger, 1)

    # One unit: the older order needs two, and the younger is not served before it.
    await stage.event(stage.po(), SupplierStatus.DELIVERED, quantity=1)
    await poll_until(
        lambda: stage.po_status(stage.po()),
        lambda po: po.received == 1,
        within=30,
        what="the first unit to be received",
    )
    assert stage.shop.fills == []
    assert (await stage.status(younger)).state == OrderState.BACKORDERED
    await stage.event(stage.po(), SupplierStatus.DELIVERED, quantity=1)
    assert (await stage.ended(older)).state == OrderState.COMPLETED
    assert (await stage.status(younger)).state == OrderState.BACKORDERED

    await stage.event(stage.po(), SupplierStatus.DELIVERED, quantity=1)
    assert (await younger.result()).state == OrderState.COMPLETED
    fills = [[f.order_id for f in fill.fills] for fill in stage.shop.fills]
    assert fills == [[older_id], [younger_id]]
    assert (await stage.po_result(stage.po())).state == PurchaseOrderState.RECEIVED
    stage.recorded.append(("purchase-order-two-orders", stage.po()))


async def test_a_card_hold_that_lapses_while_waiting_is_renewed_at_capture(
    stage: Stage, clients: AwsClients, settings: Settings, queues: QueueUrls
) -> None:
    # Given the simulated provider, whose holds last 3 days on the Temporal server's clock
    ledger = clients.ledger(settings)
    stage.shop.gateway = SimulatedGateway(ledger, validity=timedelta(days=3))
    order = await stage.order(1, "backorder-hold-renewed")
    oid = (await stage.backordered(order)).order_id
    await stage.placed()
    await stage.event(stage.po(), SupplierStatus.CONFIRMED, eta=await stage.today(days=6))
    await stage.emails_of(order, 1)

    # When the units come after the hold lapsed
    await stage.env.sleep(timedelta(days=4).total_seconds())
    await stage.event(stage.po(), SupplierStatus.DELIVERED, quantity=1)
    result = await order.result()

    # Then the capture renewed the hold first (the old one voided) and took the amount once
    assert result.state == OrderState.COMPLETED
    assert [(c.renewed, c.amount_minor) for c in stage.shop.captured] == [(True, 100)]
    books = ledger.get(Payment, oid)
    assert books is not None
    assert (books.holds, books.status) == (2, RecordState.CAPTURED)
