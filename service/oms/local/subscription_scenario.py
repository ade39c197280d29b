"""`oms demo --scenario subscription`: a PT10S subscription of three cycles, put on the intake
queue as an upstream system would. Cycle 1 is charged at once; cycle 2 is skipped; the card on
file is then replaced by one the bank declines, so cycle 3's renewal is declined, retried by
dunning (three retries, one email each) and SUSPENDED; a resume without a new token is refused,
a resume with one charges the cycle again and the subscription ends FINISHED.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from oms.aws import aws_clients
from oms.intake.submission import body_of, send
from oms.local.demo import DemoOrder, DemoOrderResult
from oms.local.demo_orders import Scenario, order_body
from oms.local.moto import sent_emails
from oms.local.scenarios import Check, Scene, outcome_checks, stock_snapshot
from oms.orders.client import NoWorkerError, OrderNotFoundError
from oms.orders.contract import FailureReason, OrderState
from oms.polling import poll_until
from oms.subscriptions.activities import SUBJECTS
from oms.subscriptions.client import SubscriptionClient, SubscriptionNotFoundError
from oms.subscriptions.contract import SubscriptionEvent, SubscriptionState, cycle_order_id
from oms.subscriptions.payloads import SubscriptionStatus
from oms.subscriptions.schedule import parse_duration

PROVES = (
    "A subscription every 10 s places an ordinary order per cycle: the first at once, the "
    "second skipped on request, the third declined and retried by dunning (one email each) "
    "until SUSPENDED; a resume with a new card charges it and the subscription FINISHES after "
    "its three cycles. Every order ends as expected with one email, stock adds up."
)
INTERVAL, CYCLES, SKU = "PT10S", 3, "MUG-RED"
RENEWAL = Scenario("subscription", OrderState.COMPLETED)
DECLINED = Scenario(
    "subscription-declined", OrderState.FAILED, FailureReason.PAYMENT_DECLINED, "tok_declined"
)
DUNNING = SubscriptionEvent.DUNNING
WITHIN = 180.0  # the whole scenario takes about 45 s on a quiet machine


def expect(what: str, subject: str, expected: object, actual: object) -> Check:
    """A check that, when it fails, names its subject, the expected and the actual value."""
    ok = expected == actual
    detail = None if ok else f"{subject}: expected {expected}, got {actual}"
    return Check(what=what, ok=ok, detail=detail)


def expected_orders(sid: str) -> list[DemoOrder]:
    """What the cycles place: cycle 1 completed, (2 skipped), cycle 3 declined three times more
    by dunning, then charged with the new card."""
    declined = [cycle_order_id(sid, 3, retry) for retry in range(4)]
    plan = [(cycle_order_id(sid, 1), RENEWAL), *((oid, DECLINED) for oid in declined)]
    plan.append((cycle_order_id(sid, 3, 4), RENEWAL))
    return [DemoOrder(oid, s, order_body(oid, lines={SKU: 1}, token=s.token)) for oid, s in plan]


class Follower:
    """Polls the subscription and tells the person each new order and change of state."""

    def __init__(self, scene: Scene, subscriptions: SubscriptionClient, sid: str) -> None:
        self.scene, self.subscriptions, self.sid = scene, subscriptions, sid
        self.said: set[str] = set()
        self.states: list[SubscriptionState] = []

    async def until(
        self, done: Callable[[SubscriptionStatus], bool], what: str
    ) -> SubscriptionStatus:
        async def fetch() -> SubscriptionStatus:
            status = await self.subscriptions.status(self.sid)
            self._tell(status)
            return status

        retry = (SubscriptionNotFoundError, NoWorkerError)
        return await poll_until(
            fetch, done, within=WITHIN, what=what, retry_on=retry, first=0.2, most=0.5
        )

    def _tell(self, status: SubscriptionStatus) -> None:
        for order in status.orders:
            key = f"{order.cycle}:{order.order_id}:{order.state}"
            if key not in self.said:
                self.said.add(key)
                reason = f" ({order.reason})" if order.reason else ""
                self.scene.say(
                    f"  cycle {order.cycle}: {order.order_id or 'no order'} {order.state}{reason}"
                )
        if not self.states or self.states[-1] != status.state:
            self.states.append(status.state)
            self.scene.say(f"{self.sid}: {status.state} (cycle {status.cycle})")


def _placed(status: SubscriptionStatus, order_id: str) -> bool:
    return any(o.order_id == order_id and o.state in OrderState.__members__ for o in status.orders)


async def subscription(scene: Scene, _extra: int) -> tuple[list[Check], list[DemoOrderResult]]:
    stack = scene.stack
    settings = stack.settings
    subscriptions = SubscriptionClient(
        scene.client, task_queue=settings.task_queue,
        minimum_interval=parse_duration(settings.subscription_min_interval),
        reminder=parse_duration(settings.subscription_reminder),
        attention_after_seconds=settings.attention_after_seconds,
    )  # fmt: skip
    sid = f"DEMO-{uuid.uuid4().hex[:6].upper()}-SUB"
    body: dict[str, Any] = order_body("unused", lines={SKU: 1})
    del body["orderId"], body["totalAmount"]
    body |= {"type": "subscription", "subscriptionId": sid, "interval": INTERVAL, "cycles": CYCLES}
    before = stock_snapshot(stack)
    began = time.monotonic()
    assert stack.queues is not None
    await asyncio.to_thread(send, aws_clients().sqs, stack.queues.intake, [body_of(body)])
    scene.say(f"put subscription {sid} on the intake queue: every {INTERVAL}, {CYCLES} cycles")
    follow = Follower(scene, subscriptions, sid)
    await follow.until(lambda s: True, "the subscription to start")
    skipped = await subscriptions.skip(sid)
    scene.say(f"skip: {skipped.message}")
    await follow.until(lambda s: _placed(s, cycle_order_id(sid, 1)), "cycle 1's order")
    # The customer's card is replaced by one the bank declines: a resume may carry a new token.
    await subscriptions.pause(sid, "the demo changes the card")
    swapped = await subscriptions.resume(sid, "tok_declined")
    scene.say(f"the card on file is now one the bank declines: {swapped.message}")
    suspended = await follow.until(
        lambda s: s.state == SubscriptionState.SUSPENDED, "dunning to end in SUSPENDED"
    )
    refused = await subscriptions.resume(sid)
    scene.say(f"resume without a new token: {'accepted' if refused.accepted else 'refused'}: "
              f"{refused.message}")  # fmt: skip
    recovered = await subscriptions.resume(sid, "tok_visa")
    scene.say(f"resume --token tok_visa: {recovered.message}")
    final = await follow.until(lambda s: s.state.terminal, "the subscription to end")
    scene.say(f"{sid} ended {final.state} after {time.monotonic() - began:.0f}s")

    orders = expected_orders(sid)
    results = [await _result(scene, order) for order in orders]
    emails = [e.subject for e in sent_emails(stack.aws_endpoint)]
    checks = outcome_checks(orders, results, before, stock_snapshot(stack))
    checks += [
        expect(f"{sid} ended FINISHED after its {CYCLES} cycles", sid, "FINISHED", final.state),
        expect("the cycles, in order: placed, skipped, placed (after dunning)", sid,
               [1, 2, 3, 3, 3, 3, 3], [o.cycle for o in final.orders]),
        expect("cycle 2 was skipped (no order)", f"{sid} cycle 2", "SKIPPED",
               next((o.state for o in final.orders if o.cycle == 2), None)),
        expect("dunning ran out: SUSPENDED after 3 retries", sid, (SubscriptionState.SUSPENDED, 3),
               (suspended.state, suspended.dunning.retries if suspended.dunning else None)),
        expect("a resume without a new token was refused", sid, False, refused.accepted),
        expect("a resume with a new token was accepted", sid, True, recovered.accepted),
        expect("one dunning email per retry", sid, 3, _count(emails, DUNNING, sid)),
        expect("one suspended email", sid, 1, _count(emails, SubscriptionEvent.SUSPENDED, sid)),
        expect(f"no reminder (the reminder lead {settings.subscription_reminder} is longer than "
               f"{INTERVAL})", sid, 0, _count(emails, SubscriptionEvent.REMINDER, sid)),
    ]  # fmt: skip
    return checks, results


def _count(subjects: list[str], event: SubscriptionEvent, sid: str) -> int:
    return subjects.count(SUBJECTS[event].format(sid=sid))


async def _result(scene: Scene, order: DemoOrder) -> DemoOrderResult:
    """The order's outcome (None when it was never placed: lost), its emails, as the demo's."""
    state = reason = None
    steps: list[str] = []
    try:
        final = await asyncio.wait_for(scene.orders.result(order.order_id), 60)
        state, reason, steps = final.state, final.reason, [s.step for s in final.steps]
    except (OrderNotFoundError, TimeoutError):
        pass
    token = f" {order.order_id} "
    emails = sum(token in f" {e.subject} " for e in sent_emails(scene.stack.aws_endpoint))
    return DemoOrderResult(
        order_id=order.order_id, scenario=order.scenario.name, expected=order.scenario.expected,
        expected_reason=order.scenario.reason, state=state, reason=reason, steps=steps,
        emails=emails,
    )  # fmt: skip
