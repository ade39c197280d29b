"""The money scenarios of `oms demo` (CONTRACT.md §6g): `review` (an order held for review is
approved, another rejected) and `edit` (an order's lines changed before capture: stock and the
captured amount follow exactly; an edit after capture is refused and changes nothing).

Both use Stripe's `tok_riskLevelHighest`, which holds the order IN_REVIEW after authorization:
a window before capture that does not depend on the step latency.
"""

from __future__ import annotations

import asyncio
import copy
import time
import uuid
from decimal import Decimal
from typing import Any

from oms.aws import aws_clients
from oms.local.demo import DemoOrder, DemoOrderResult
from oms.local.demo_orders import Scenario, scenario_body
from oms.local.moto import sent_emails
from oms.local.scenarios import Check, Scene, outcome_checks, stock_snapshot
from oms.orders.client import NoWorkerError, OrderNotFoundError
from oms.orders.contract import FailureReason, OrderState
from oms.orders.payloads import EditRequest, ReviewRequest
from oms.orders.records import Payment, RecordState
from oms.polling import poll_until

RISKY = "tok_riskLevelHighest"  # Stripe's test token: held for review
PROVES = {
    "review": "An order the provider flags waits IN_REVIEW with its card held: approved, it "
    "completes; rejected, it ends CANCELLED REVIEW_REJECTED with the hold voided and the stock "
    "released; one email each.",
    "edit": "An order changed before capture reserves exactly the difference and is captured "
    "for exactly its new total (the old hold voided), with one summary email; an edit once it "
    "has completed is refused and changes nothing.",
}
Outcome = tuple[list[Check], list[DemoOrderResult]]


def _order(name: str, expected: OrderState, reason: str | None = None) -> DemoOrder:
    scenario = Scenario(name, expected, reason, token=RISKY)
    order_id = f"DEMO-{uuid.uuid4().hex[:6].upper()}-{name.upper()}"
    return DemoOrder(order_id, scenario, scenario_body(scenario, order_id))


async def _in_review(scene: Scene, order_id: str) -> None:
    async def state() -> OrderState | None:
        try:
            return (await scene.orders.status(order_id)).state
        except (OrderNotFoundError, NoWorkerError):
            return None

    await poll_until(
        state, lambda s: s == OrderState.IN_REVIEW, within=120, what=f"{order_id} IN_REVIEW"
    )


def _emails(scene: Scene, order_id: str, *, changed: bool = False) -> int:
    subjects = [f" {e.subject} " for e in sent_emails(scene.stack.aws_endpoint)]
    return sum(f" {order_id} " in s and ("was changed" in s) == changed for s in subjects)


async def _report(scene: Scene, order: DemoOrder, began: float) -> DemoOrderResult:
    result = await scene.orders.result(order.order_id)
    return DemoOrderResult(
        order_id=order.order_id, scenario=order.scenario.name, expected=order.scenario.expected,
        expected_reason=order.scenario.reason, state=result.state, reason=result.reason,
        steps=[s.step for s in result.steps], tracking_number=result.tracking_number,
        emails=_emails(scene, order.order_id), seconds=round(time.monotonic() - began, 2),
    )  # fmt: skip


async def _payment(scene: Scene, order_id: str) -> Payment | None:
    ledger = aws_clients().ledger(scene.stack.settings)
    return await asyncio.to_thread(ledger.get, Payment, order_id)


async def review(scene: Scene, extra: int) -> Outcome:
    approved = _order("review-approved", OrderState.COMPLETED)
    rejected = _order("review-rejected", OrderState.CANCELLED, FailureReason.REVIEW_REJECTED)
    before, began = stock_snapshot(scene.stack), time.monotonic()
    await scene.submit([approved, rejected])
    for order in (approved, rejected):
        await _in_review(scene, order.order_id)
    scene.say(f"{approved.order_id} and {rejected.order_id} wait IN_REVIEW (card held)")
    yes = await scene.orders.review(
        approved.order_id, ReviewRequest(approve=True, note="demo: customer confirmed")
    )
    no = await scene.orders.review(
        rejected.order_id, ReviewRequest(approve=False, note="demo: looks like fraud")
    )
    scene.say(f"approved {approved.order_id}, rejected {rejected.order_id}")
    results = [await _report(scene, o, began) for o in (approved, rejected)]
    checks = outcome_checks([approved, rejected], results, before, stock_snapshot(scene.stack))
    voided = await _payment(scene, rejected.order_id)
    checks += [
        Check(what="both decisions were accepted", ok=yes.accepted and no.accepted),
        Check(what="the rejected order's hold was voided",
              ok=voided is not None and voided.status == RecordState.VOIDED),
    ]  # fmt: skip
    return checks, results


def _edited_body(body: dict[str, Any], quantities: dict[str, int]) -> dict[str, Any]:
    edited = copy.deepcopy(body)
    edited["items"] = [
        line | {"quantity": quantities.get(line["sku"], line["quantity"])}
        for line in body["items"]
        if quantities.get(line["sku"], line["quantity"])
    ]
    return edited


async def edit(scene: Scene, extra: int) -> Outcome:
    order = _order("edit", OrderState.COMPLETED)
    first, second = (line["sku"] for line in order.body["items"][:2])
    change = {first: 3, second: 0}
    before, began = stock_snapshot(scene.stack), time.monotonic()
    await scene.submit([order])
    await _in_review(scene, order.order_id)
    answer = await scene.orders.edit(
        order.order_id, EditRequest(items=change, reason="demo: customer called")
    )
    scene.say(f"edited {order.order_id} while it waited: {answer.message}")
    await scene.orders.review(order.order_id, ReviewRequest(approve=True, note="demo: fine"))
    result = await _report(scene, order, began)
    new = DemoOrder(order.order_id, order.scenario, _edited_body(order.body, change))
    checks = outcome_checks([new], [result], before, stock_snapshot(scene.stack))
    expected = sum(
        (Decimal(str(line["unitPrice"])) * int(line["quantity"]) for line in new.body["items"]),
        Decimal(0),
    )
    paid = await _payment(scene, order.order_id)
    late = await scene.orders.edit(
        order.order_id, EditRequest(items={first: 1}, reason="demo: too late")
    )
    after_late = await _payment(scene, order.order_id)
    scene.say(f"an edit after completion: {late.message}")
    checks += [
        Check(what=f"the edit was accepted ({answer.message})", ok=answer.accepted),
        Check(what=f"captured {paid.captured if paid else '?'} = the new total {expected}",
              ok=paid is not None and paid.captured == expected and paid.holds == 2),
        Check(what="one summary email for the edit",
              ok=_emails(scene, order.order_id, changed=True) == 1),
        Check(what=f"an edit after capture is refused ({late.message})",
              ok=not late.accepted and after_late == paid),
    ]  # fmt: skip
    return checks, [result]
