"""`oms demo --scenario S`: the demo orders run through a fault (a worker killed, the Temporal
server killed and restarted, an SES outage, a worker drained), each followed by checks of what
the scenario proves — nothing lost, nothing done twice, one email per outcome, stock adding up.

Faults are made from outside the product: signals to the stack's processes and the emulator's
fault API. The product's code paths carry none of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

from oms.aws import aws_clients
from oms.local.demo import TERMINAL, DemoOrder, DemoOrderResult, DemoRunner, plan, submit
from oms.local.demo_orders import DEMO_STOCK, SCENARIOS
from oms.local.stack import LocalStack
from oms.local.watchdog import DemoStalledError, stack_problem
from oms.orders.client import OrderClient
from oms.orders.contract import OrderState, order_workflow_id

Say = Callable[[str], None]
T = TypeVar("T")
# Scenarios accepted but not runnable on this build; reported as not available.
NOT_YET: dict[str, str] = {}
FAULT_SCENARIOS = (
    "crash",
    "server-restart",
    "email-outage",
    "dynamodb-outage",
    "drain",
    "returns",
    "review",
    "edit",
    "delivery",
    "subscription",
    "split",
    "backorder",
)
NAMES = ("orders", *FAULT_SCENARIOS, *NOT_YET)


class Check(BaseModel):
    """One thing a scenario proves; when it fails, `detail` names the subject, what was
    expected and what was found."""

    what: str
    ok: bool
    detail: str | None = None


class ScenarioReport(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    name: str
    proves: str
    passed: bool
    seconds: float
    checks: list[Check] = []
    orders: list[DemoOrderResult] = []
    skipped: str | None = None


@dataclass
class Scene:
    """What a scenario works with: the private stack, a client, a way to talk to the person."""

    stack: LocalStack
    client: Client
    orders: OrderClient
    say: Say
    on_change: Callable[[DemoOrder], None]

    def runner(self) -> DemoRunner:
        return DemoRunner(
            self.orders, aws_endpoint=self.stack.aws_endpoint, on_change=self.on_change,
            problem=self.problem,
        )  # fmt: skip

    async def problem(self) -> str | None:
        """Why the stack cannot progress, if it cannot (oms.local.watchdog)."""
        return await asyncio.to_thread(stack_problem, self.stack)

    async def until(self, condition: Callable[[], bool], *, within: float, what: str) -> None:
        """Poll `condition`; stop early with the stack's problem, or at the deadline."""
        deadline = time.monotonic() + within
        checked = time.monotonic()
        while not condition():
            now = time.monotonic()
            if now - checked > 2.0:
                checked = now
                problem = await self.problem()
                if problem:
                    raise DemoStalledError(f"the demo cannot go on: {problem}")
            if now > deadline:
                problem = await self.problem()
                raise DemoStalledError(
                    f"the demo cannot go on: no {what} after {within:.0f}s"
                    + (f"; {problem}" if problem else "")
                )
            await asyncio.sleep(0.05)

    async def submit(self, orders: list[DemoOrder]) -> None:
        assert self.stack.queues is not None
        await asyncio.to_thread(submit, aws_clients().sqs, self.stack.queues.intake, orders)


# --- checks shared by the scenarios ----------------------------------------------------------


def stock_snapshot(stack: LocalStack) -> dict[str, tuple[int, int]]:
    ledger = aws_clients().ledger(stack.settings)
    levels = {sku: ledger.get_stock(sku) for sku in DEMO_STOCK}
    return {sku: (lv.available, lv.reserved) if lv else (0, 0) for sku, lv in levels.items()}


def outcome_checks(
    orders: list[DemoOrder], results: list[DemoOrderResult], before: dict[str, tuple[int, int]],
    after: dict[str, tuple[int, int]],
) -> list[Check]:  # fmt: skip
    """0 lost, 0 duplicated, one email each, and stock = before - what completed orders took."""
    submitted = {o.order_id for o in orders}
    finished = {r.order_id for r in results if r.state is not None}
    taken: dict[str, int] = dict.fromkeys(DEMO_STOCK, 0)
    by_id = {r.order_id: r for r in results}
    for order in orders:
        if by_id[order.order_id].state == OrderState.COMPLETED:
            for line in order.body["items"]:
                taken[line["sku"]] = taken.get(line["sku"], 0) + int(line["quantity"])
    expected_stock = {sku: (before[sku][0] - taken[sku], before[sku][1]) for sku in DEMO_STOCK}
    lost = sorted(submitted - finished)
    wrong = [r for r in results if r.state is not None and not _ended_as_expected(r)]
    emails = [r for r in results if r.emails != 1]
    stock = [sku for sku in DEMO_STOCK if after.get(sku) != expected_stock[sku]]
    return [
        Check(what=f"{len(finished)} of {len(submitted)} orders reached an outcome (0 lost)",
              ok=not lost, detail=_listed(lost, lambda order_id: f"{order_id}: no outcome")),
        Check(what="every order ended as its scenario expects", ok=not wrong,
              detail=_listed(wrong, _unexpected_outcome)),
        Check(what="exactly one email per order (0 duplicated)", ok=not emails,
              detail=_listed(emails, lambda r: f"{r.order_id}: {r.emails} emails, expected 1")),
        Check(what="stock fell by exactly what completed orders took; none left reserved",
              ok=not stock, detail=_listed(stock, lambda sku: _stock_difference(
                  sku, expected_stock[sku], after.get(sku, (0, 0))))),
    ]  # fmt: skip


def _ended_as_expected(result: DemoOrderResult) -> bool:
    reason_ok = result.expected_reason is None or result.reason == result.expected_reason
    return result.state == result.expected and reason_ok


def _unexpected_outcome(result: DemoOrderResult) -> str:
    expected = result.expected.value + (
        f" ({result.expected_reason})" if result.expected_reason else ""
    )
    found = (result.state.value if result.state else "no outcome") + (
        f" ({result.reason})" if result.reason else ""
    )
    return f"{result.order_id}: expected {expected}, got {found}"


def _stock_difference(sku: str, expected: tuple[int, int], found: tuple[int, int]) -> str:
    return (
        f"{sku}: expected available {expected[0]}, reserved {expected[1]}; "
        f"got available {found[0]}, reserved {found[1]}"
    )


def _listed(subjects: list[T], describe: Callable[[T], str], most: int = 5) -> str | None:
    """The first few failing subjects, described; None when there are none."""
    if not subjects:
        return None
    text = "; ".join(describe(subject) for subject in subjects[:most])
    return text + (f"; and {len(subjects) - most} more" if len(subjects) > most else "")


async def follow_through_outages(
    runner: DemoRunner, orders: list[DemoOrder]
) -> list[DemoOrderResult]:
    """Follow the orders; a dropped connection (the server restarting) is retried, not fatal."""
    deadline = time.monotonic() + 300
    while True:
        try:
            return await runner.follow(orders)
        except (RuntimeError, RPCError):  # a lost connection, or the server restarting
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def in_flight(orders: list[DemoOrder]) -> list[DemoOrder]:
    return [
        o for o in orders if o.state in ("RESERVED", "AUTHORIZED", "PREPARED", "PAID", "SHIPPED")
    ]


async def run_orders(
    scene: Scene, extra: int, *, during: Callable[[list[DemoOrder]], Awaitable[None]] | None = None
) -> tuple[list[DemoOrder], list[DemoOrderResult]]:
    """Submit one order per demo scenario plus `extra` happy ones and follow them to the end;
    `during` runs once they are submitted (the fault)."""
    orders = plan(extra)
    runner = scene.runner()
    # The order to cancel goes first, alone, and is cancelled before the rest arrive: on a busy
    # machine it could otherwise finish before anyone sees it in flight.
    first = [o for o in orders if o.scenario.cancel]
    rest = [o for o in orders if not o.scenario.cancel]
    await scene.submit(first)
    following_first = asyncio.create_task(follow_through_outages(runner, first))
    await scene.until(
        lambda: all(o.state.startswith("CANCELLING") or o.state in TERMINAL for o in first),
        within=120, what="progress of the order to cancel",
    )  # fmt: skip
    await scene.submit(rest)
    scene.say(f"submitted {len(orders)} orders to the intake queue")
    following_rest = asyncio.create_task(follow_through_outages(runner, rest))
    if during is not None:
        await during(orders)
    by_id = {r.order_id: r for r in [*await following_first, *await following_rest]}
    return orders, [by_id[o.order_id] for o in orders]


async def failed_attempts(client: Client, order_ids: list[str]) -> int:
    """Activity attempts that failed or timed out, over these orders' histories."""
    bad = {EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT}
    count = 0
    for order_id in order_ids:
        history = await client.get_workflow_handle(order_workflow_id(order_id)).fetch_history()
        count += sum(event.event_type in bad for event in history.events)
    return count


HAPPY = SCENARIOS["happy"]
