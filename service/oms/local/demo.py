"""The demo: orders of every scenario put on the intake queue, followed to their outcome, and
checked against what each scenario expects (state, reason, exactly one email)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from temporalio.service import RPCError

from oms.intake.submission import body_of, send
from oms.local.demo_orders import SCENARIOS, Scenario, scenario_body
from oms.local.errors import DemoStalledError
from oms.local.moto import sent_emails
from oms.orders.client import NoWorkerError, OrderClient, OrderNotFoundError
from oms.orders.contract import OrderState
from oms.orders.payloads import CancelRequest, OrderStatus

# Any state before capture: on a busy machine a later cancel could reach it after capture.
CANCEL_WHEN = {OrderState.RECEIVED, OrderState.RESERVED, OrderState.AUTHORIZED}
TERMINAL = {state.value for state in OrderState if state.terminal}


class DemoOrderResult(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    order_id: str
    scenario: str
    expected: OrderState
    expected_reason: str | None = None
    state: OrderState | None = None
    reason: str | None = None
    steps: list[str] = []
    tracking_number: str | None = None
    emails: int = 0
    # One per outcome; a backordered order also gets the "backordered" email (§6f).
    expected_emails: int = 1
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        reason_ok = self.expected_reason is None or self.reason == self.expected_reason
        return self.state == self.expected and reason_ok and self.emails == self.expected_emails


class DemoReport(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    orders: list[DemoOrderResult]
    passed: bool
    temporal_ui: str
    elapsed_seconds: float
    scenarios: list[Any] = []  # ScenarioReport (oms.local.scenarios), one per scenario run


@dataclass
class DemoOrder:
    order_id: str
    scenario: Scenario
    body: dict[str, Any]
    state: str = "QUEUED"
    started: float = field(default_factory=time.monotonic)


def plan(extra_orders: int = 0, *, run_id: str | None = None) -> list[DemoOrder]:
    """One order per scenario plus `extra_orders` happy-path orders, with fresh ids."""
    run_id = run_id or uuid.uuid4().hex[:6].upper()
    orders = [
        DemoOrder(f"DEMO-{run_id}-{name.upper()}", scenario, {})
        for name, scenario in SCENARIOS.items()
    ]
    orders += [
        DemoOrder(f"DEMO-{run_id}-{n:04d}", SCENARIOS["happy"], {})
        for n in range(1, extra_orders + 1)
    ]
    for index, order in enumerate(orders):
        order.body = scenario_body(order.scenario, order.order_id, customer=index + 1)
    return orders


def submit(sqs: Any, queue_url: str, orders: list[DemoOrder]) -> None:
    """Put the orders on the intake queue, as an upstream system would."""
    send(sqs, queue_url, [body_of(order.body) for order in orders])


class DemoRunner:
    def __init__(
        self,
        orders: OrderClient,
        *,
        aws_endpoint: str,
        on_change: Callable[[DemoOrder], None] = lambda _order: None,
        timeout: float = 300.0,
        problem: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        self._orders = orders
        self._endpoint = aws_endpoint
        self._on_change = on_change
        self._timeout = timeout
        self._problem = problem

    async def follow(self, orders: list[DemoOrder]) -> list[DemoOrderResult]:
        """Every order to its outcome; a stack that cannot progress (`problem`) or the
        deadline stops it with the reason (DemoStalledError)."""
        following: asyncio.Future[list[DemoOrderResult]] = asyncio.gather(
            *(self._follow(order) for order in orders)
        )
        guard: asyncio.Future[None] = asyncio.ensure_future(self._guard())
        try:
            async with asyncio.timeout(self._timeout):
                pending: set[asyncio.Future[Any]] = {following, guard}
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            waiting = [f"{o.order_id} ({o.state})" for o in orders if o.state not in TERMINAL]
            raise DemoStalledError(
                f"the demo orders did not finish within {self._timeout:.0f}s; still waiting "
                f"for {', '.join(waiting[:5]) or 'their results'}"
            ) from None
        finally:
            guard.cancel()
            if not following.done():
                following.cancel()
        if guard.done() and not guard.cancelled() and guard.exception() is not None:
            raise guard.exception()  # type: ignore[misc]
        results = following.result()
        emails = sent_emails(self._endpoint)
        for result in results:
            token = f" {result.order_id} "
            result.emails = sum(token in f" {email.subject} " for email in emails)
        return list(results)

    async def _guard(self) -> None:
        """Every 2 s: is there a reason the orders cannot finish? Raise it."""
        while self._problem is not None:
            await asyncio.sleep(2.0)
            problem = await self._problem()
            if problem:
                raise DemoStalledError(f"the demo cannot go on: {problem}")
        await asyncio.Event().wait()  # nothing to watch: wait to be cancelled

    def _set(self, order: DemoOrder, state: str) -> None:
        if order.state.startswith("CANCELLING") and state not in TERMINAL:
            return  # keep showing the accepted cancellation until the outcome arrives
        if order.state != state:
            order.state = state
            self._on_change(order)

    async def _follow(self, order: DemoOrder) -> DemoOrderResult:
        await self._started(order.order_id, eager=order.scenario.cancel)
        self._set(order, OrderState.RECEIVED)
        if order.scenario.cancel:
            await self._cancel_in_flight(order)
        # Live states for the scenario orders only: hundreds of extra orders polling their
        # status would load the dev server more than the orders themselves.
        watched = order.order_id.rsplit("-", 1)[-1] == order.scenario.name.upper()
        watcher = asyncio.create_task(self._watch(order) if watched else asyncio.sleep(0))
        try:
            result = await self._orders.result(order.order_id)
        finally:
            watcher.cancel()
        self._set(order, result.state)
        return DemoOrderResult(
            order_id=order.order_id,
            scenario=order.scenario.name,
            expected=order.scenario.expected,
            expected_reason=order.scenario.reason,
            state=result.state,
            reason=result.reason,
            steps=[s.step for s in result.steps],
            tracking_number=result.tracking_number,
            seconds=round(time.monotonic() - order.started, 2),
        )

    async def _started(self, order_id: str, *, eager: bool = False) -> None:
        """Poll until the intake bridge has started it. The order to cancel polls fast; the
        others back off, so hundreds of them do not crowd out the one that must be quick."""
        delay = 0.05 if eager else 0.5
        while True:
            try:
                await self._orders.workflow_info(order_id)
                return
            except (OrderNotFoundError, RPCError):
                pass  # not started yet, or the server is restarting
            await asyncio.sleep(delay)
            delay = delay if eager else min(2.0, delay * 1.5)

    async def _status(self, order_id: str) -> OrderStatus | None:
        try:
            return await self._orders.status(order_id)
        except (NoWorkerError, OrderNotFoundError, RuntimeError, RPCError):
            return None  # not picked up yet, or the server is busy or restarting: ask again

    async def _watch(self, order: DemoOrder) -> None:
        while True:
            status = await self._status(order.order_id)
            if status is not None:
                self._set(order, status.state.value)
            await asyncio.sleep(0.25)

    async def _cancel_in_flight(self, order: DemoOrder) -> None:
        """Cancel once stock is reserved (or authorized), so the summary shows the compensation.

        The runner gives this order the machine to itself until the cancel is sent, so seeing
        it in flight does not race with other orders."""
        while True:
            status = await self._status(order.order_id)
            if status is not None and (status.state in CANCEL_WHEN or status.state.terminal):
                break
            await asyncio.sleep(0.02)
        request = CancelRequest(reason=order.scenario.reason or "cancelled in the demo")
        try:
            response = await self._orders.cancel_order(order.order_id, request)
        except (NoWorkerError, OrderNotFoundError):
            return  # too late: the summary shows the outcome as unexpected
        if response.accepted:
            self._set(order, f"CANCELLING ({response.state.value})")
