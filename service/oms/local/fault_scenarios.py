"""The fault scenarios of `oms demo`: what each does, and what it proves, in plain words."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

from oms.aws import aws_clients
from oms.local import backorder_scenario, money_scenarios, split_scenario, subscription_scenario
from oms.local.delivery_scenario import PROVES as DELIVERY_PROVES
from oms.local.delivery_scenario import delivery
from oms.local.demo import DemoOrder, DemoOrderResult
from oms.local.demo_orders import Scenario, scenario_body
from oms.local.faults import injected_errors, set_fault
from oms.local.moto import sent_emails
from oms.local.scenarios import (
    HAPPY,
    NOT_YET,
    Check,
    ScenarioReport,
    Scene,
    failed_attempts,
    in_flight,
    outcome_checks,
    run_orders,
    stock_snapshot,
)
from oms.orders.client import NoWorkerError, OrderNotFoundError
from oms.orders.contract import OrderState
from oms.orders.gateway import FLAKY_TOKEN
from oms.orders.payloads import CancelRequest
from oms.orders.records import Payment
from oms.polling import poll_until
from oms.returns.activities import SUBJECTS
from oms.returns.client import ReturnClient

EMAIL_OUTAGE_SECONDS = 15.0
PROVES = {
    "orders": "Every kind of order ends as it should: completed, cancelled with its stock and "
    "payment given back, failed for stock or payment, completed despite a flaky payment; and "
    "part of a completed order is returned: refunded, restocked, the customer told.",
    "crash": "A worker killed mid-order loses nothing: Temporal kept each order's state, and a "
    "new worker carried on from the step that was running.",
    "server-restart": "The Temporal server killed mid-flight and started again from its database "
    "file loses nothing: workers and the intake reconnect, every order finishes once.",
    "email-outage": "While SES refuses every call, orders wait at their email and send it once "
    "SES is back: no email lost, none sent twice.",
    "dynamodb-outage": "A compensation that cannot run (DynamoDB down) marks the order "
    "NEEDS_ATTENTION for a person to see, keeps retrying, and finishes by itself once DynamoDB "
    "is back: stock and the card hold are given back, one email.",
    "drain": "A worker stopped with SIGTERM (a deploy) finishes what it started before it exits: "
    "no activity attempt fails, nothing is retried.",
    "returns": "A customer returns part of a completed order: the parcel is received, the "
    "accepted lines are refunded (partially, from the captured amount), the units are back in "
    "stock, and the customer got one instructions email and one refund email.",
    "delivery": DELIVERY_PROVES,
    "subscription": subscription_scenario.PROVES,
    "split": split_scenario.PROVES,
    "backorder": backorder_scenario.PROVES,
}


async def _wait_for_in_flight(scene: Scene, orders: list[DemoOrder]) -> list[DemoOrder]:
    await scene.until(lambda: bool(in_flight(orders)), within=120, what="order in flight")
    return in_flight(orders)


def _names(orders: list[DemoOrder]) -> str:
    return ", ".join(o.order_id for o in orders) or "none"


async def crash(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    hit: list[DemoOrder] = []

    async def kill(orders: list[DemoOrder]) -> None:
        hit.extend(await _wait_for_in_flight(scene, orders))
        victim = scene.stack.workers[0]
        scene.stack.kill_worker(victim)
        killed = time.monotonic()
        scene.say(f"killed {victim.name} (pid {victim.pid}) with SIGKILL; in flight: {_names(hit)}")
        replacement = scene.stack.start_worker()
        scene.say(
            f"started {replacement.name}. A step that was running on the dead worker is handed "
            "out again when its 30 s start-to-close timeout passes; until then its order waits."
        )
        while not all(o.state in ("COMPLETED", "CANCELLED", "FAILED") for o in hit):
            await asyncio.sleep(0.5)
            waited = time.monotonic() - killed
            if int(waited * 2) % 10 == 0:  # every 5 s
                waiting = [o for o in hit if o.state not in ("COMPLETED", "CANCELLED", "FAILED")]
                scene.say(f"{waited:.0f}s after the crash, waiting for: {_names(waiting)}")

    before = stock_snapshot(scene.stack)
    orders, results = await run_orders(scene, extra, during=kill)
    checks = outcome_checks(orders, results, before, stock_snapshot(scene.stack))
    finished = bool(hit) and all(o.state == o.scenario.expected for o in hit)
    checks.append(
        Check(what=f"the orders in flight at the crash finished: {_names(hit)}", ok=finished)
    )
    return checks, results


async def server_restart(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    hit: list[DemoOrder] = []
    restarted_in: list[float] = []

    async def restart(orders: list[DemoOrder]) -> None:
        hit.extend(await _wait_for_in_flight(scene, orders))
        temporal = scene.stack.temporal
        assert temporal is not None
        scene.stack.children.stop(temporal, kill=True)
        scene.say(f"killed the Temporal dev server with SIGKILL; in flight: {_names(hit)}")
        began = time.monotonic()
        await asyncio.to_thread(scene.stack.restart, temporal)
        restarted_in.append(time.monotonic() - began)
        scene.say(
            f"restarted it from {scene.stack.db_filename} in {restarted_in[0]:.1f}s; workers and "
            "the intake bridge reconnect by themselves"
        )

    before = stock_snapshot(scene.stack)
    orders, results = await run_orders(scene, extra, during=restart)
    checks = outcome_checks(orders, results, before, stock_snapshot(scene.stack))
    checks.append(Check(what=f"the server was restarted mid-flight ({len(hit)} orders in flight)",
                        ok=bool(hit and restarted_in)))  # fmt: skip
    return checks, results


async def email_outage(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    endpoint = scene.stack.aws_endpoint
    refused_before = injected_errors(endpoint)["ses"]
    set_fault(endpoint, "ses", EMAIL_OUTAGE_SECONDS)
    scene.say(
        f"SES is down for {EMAIL_OUTAGE_SECONDS:.0f}s: every call answers 503 ServiceUnavailable, "
        "as AWS does in an outage; boto3 retries, then Temporal retries the email step"
    )
    before = stock_snapshot(scene.stack)
    orders, results = await run_orders(scene, extra)
    refused = injected_errors(endpoint)["ses"] - refused_before
    checks = outcome_checks(orders, results, before, stock_snapshot(scene.stack))
    checks.append(Check(what=f"SES refused {refused} calls during the outage", ok=refused > 0))
    return checks, results


async def drain(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    codes: list[int | None] = []

    async def stop_one(orders: list[DemoOrder]) -> None:
        await _wait_for_in_flight(scene, orders)
        victim = scene.stack.workers[0]
        scene.say(f"sent SIGTERM to {victim.name}: it stops polling and finishes what it started")
        began = time.monotonic()
        codes.append(await asyncio.to_thread(scene.stack.drain_worker, victim))
        scene.say(
            f"{victim.name} exited with code {codes[0]} after {time.monotonic() - began:.1f}s"
        )
        scene.say(f"started {scene.stack.start_worker().name} in its place (as a deploy would)")

    before = stock_snapshot(scene.stack)
    orders, results = await run_orders(scene, max(extra, 30), during=stop_one)
    happy = [o.order_id for o in orders if o.scenario is HAPPY]
    failed = await failed_attempts(scene.client, happy)
    checks = outcome_checks(orders, results, before, stock_snapshot(scene.stack))
    checks += [
        Check(what=f"the drained worker exited cleanly (code {codes[0] if codes else '?'})",
              ok=codes == [0]),
        Check(what=f"{failed} failed activity attempts in {len(happy)} orders", ok=failed == 0),
    ]  # fmt: skip
    return checks, results


async def return_checks(
    scene: Scene, orders: list[DemoOrder], results: list[DemoOrderResult]
) -> list[Check]:
    """A customer returns the first line of a completed order: opened, received, refunded,
    restocked, two emails (instructions, refund)."""
    done = [o for o, r in zip(orders, results, strict=True) if r.state == "COMPLETED"]
    if not done:
        return [Check(what="a completed order to return", ok=False)]
    order = done[0]
    line = order.body["items"][0]
    sku, quantity, price = line["sku"], int(line["quantity"]), Decimal(str(line["unitPrice"]))
    settings = scene.stack.settings
    client = ReturnClient(
        scene.orders,
        parcel_days=settings.return_parcel_days,
        attention_after_seconds=settings.attention_after_seconds,
    )
    stock_before = stock_snapshot(scene.stack)[sku][0]
    await split_scenario.deliver_now(scene, order.order_id)  # only delivered units come back
    opened = await client.open(
        order.order_id, {sku: quantity}, reason="demo: does not fit", request_id="demo"
    )
    scene.say(f"opened {opened.return_id} for {quantity} x {sku} of {order.order_id}")
    await client.receive(opened.return_id, None)
    scene.say(f"received the parcel of {opened.return_id}: refunding and restocking")
    final = await client.result(opened.return_id)
    ledger = aws_clients().ledger(settings)
    payment = await asyncio.to_thread(ledger.get, Payment, order.order_id)
    restocked = stock_snapshot(scene.stack)[sku][0] - stock_before
    # The return's own emails (the order's and its delivery's go to the same customer).
    subjects = {SUBJECTS[e].format(order_id=order.order_id) for e in SUBJECTS}
    emails = sum(e.subject in subjects for e in sent_emails(scene.stack.aws_endpoint))
    expected = price * quantity
    return [
        Check(what=f"return {opened.return_id} ended {final.state}",
              ok=final.state == "COMPLETED"),
        Check(what=f"refunded {final.refund_amount} of {payment.captured if payment else '?'} "
              f"captured (expected {expected})",
              ok=final.refund_amount == expected and payment is not None
              and payment.refunded == expected),
        Check(what=f"{restocked} of {quantity} units of {sku} back in stock",
              ok=restocked == quantity),
        Check(what=f"{emails} return emails (instructions + refund)", ok=emails == 2),
    ]  # fmt: skip


async def returns(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    before = stock_snapshot(scene.stack)
    orders, results = await run_orders(scene, extra)
    checks = outcome_checks(orders, results, before, stock_snapshot(scene.stack))
    return checks + await return_checks(scene, orders, results), results


DYNAMODB_OUTAGE_SECONDS = 15.0


async def _poll(what: str, check: Callable[[], Awaitable[bool]], within: float = 120) -> None:
    await poll_until(check, bool, within=within, what=what, first=0.2, most=0.2)


async def dynamodb_outage(scene: Scene, extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    """Cancel an order while DynamoDB is down: its compensation cannot run, the order is marked
    NEEDS_ATTENTION, and when DynamoDB is back it finishes by itself."""
    endpoint, orders = scene.stack.aws_endpoint, scene.orders
    # A flaky card keeps the order at its authorization for ~3 s (two transient failures), so
    # the outage and the cancel land before capture whatever the step latency.
    scenario = Scenario(
        "dynamodb-outage", OrderState.CANCELLED, "cancelled during an outage", token=FLAKY_TOKEN
    )
    order_id = f"DEMO-{uuid.uuid4().hex[:6].upper()}-DYNAMODB-OUTAGE"
    order = DemoOrder(order_id, scenario, scenario_body(scenario, order_id))
    before = stock_snapshot(scene.stack)
    began = time.monotonic()
    await scene.submit([order])

    async def held() -> bool:
        try:
            status = await orders.status(order_id)
        except (OrderNotFoundError, NoWorkerError):
            return False
        return status.state in (OrderState.RESERVED, OrderState.AUTHORIZED)

    await _poll("the order to hold stock and payment", held)
    set_fault(endpoint, "dynamodb", DYNAMODB_OUTAGE_SECONDS)
    scene.say(
        f"DynamoDB is down for {DYNAMODB_OUTAGE_SECONDS:.0f}s; cancelling {order_id}, whose "
        "stock and card hold must now be given back"
    )
    answer = await orders.cancel_order(order_id, CancelRequest(reason="cancelled during an outage"))
    attention: list[str] = []

    async def flagged() -> bool:
        status = await orders.status(order_id)
        if status.attention:
            attention.append(status.attention)
        return bool(status.attention)

    await _poll("NEEDS_ATTENTION", flagged)
    scene.say(f"{order_id} needs attention: {attention[0]}; retries go on")
    result = await orders.result(order_id)
    scene.say(f"DynamoDB is back: {order_id} ended {result.state} by itself")
    emails = sum(f" {order_id} " in f" {e.subject} " for e in sent_emails(endpoint))
    report = DemoOrderResult(
        order_id=order_id, scenario=scenario.name, expected=scenario.expected,
        state=result.state, reason=result.reason, steps=[s.step for s in result.steps],
        emails=emails, seconds=round(time.monotonic() - began, 2),
    )  # fmt: skip
    checks = outcome_checks([order], [report], before, stock_snapshot(scene.stack))
    checks += [
        Check(what="the cancel was accepted during the outage", ok=answer.accepted),
        Check(what=f"marked NEEDS_ATTENTION while DynamoDB was down ({attention[0]})",
              ok=bool(attention)),
        Check(what="recovered by itself: no attention left at the end",
              ok=result.attention is None and result.state == OrderState.CANCELLED),
    ]  # fmt: skip
    return checks, [report]


async def run_scenario(name: str, scene: Scene, extra: int) -> ScenarioReport:
    began = time.monotonic()
    missing = NOT_YET.get(name) or (
        backorder_scenario.order_side_missing() if name == "backorder" else None
    )
    if missing:
        return ScenarioReport(
            name=name,
            proves="",
            passed=True,
            seconds=0.0,
            skipped=f"not available yet: {missing}",
        )
    scene.say(f"scenario {name}")
    if name == "orders":
        before = stock_snapshot(scene.stack)
        orders, results = await run_orders(scene, extra)
        checks = outcome_checks(orders, results, before, stock_snapshot(scene.stack))
        checks += await return_checks(scene, orders, results)  # and one order comes back
    else:
        scenario = {"crash": crash, "server-restart": server_restart, "drain": drain,
                    "email-outage": email_outage, "returns": returns,
                    "dynamodb-outage": dynamodb_outage, "review": money_scenarios.review,
                    "edit": money_scenarios.edit, "delivery": delivery,
                    "subscription": subscription_scenario.subscription,
                    "split": split_scenario.split,
                    "backorder": backorder_scenario.backorder}[name]  # fmt: skip
        checks, results = await scenario(scene, extra)
    return ScenarioReport(
        name=name, proves=(PROVES | money_scenarios.PROVES)[name], passed=all(c.ok for c in checks),
        seconds=round(time.monotonic() - began, 1), checks=checks, orders=results,
    )  # fmt: skip
