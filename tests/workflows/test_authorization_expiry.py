"""A card hold that expires while the order waits NEEDS_ATTENTION (§6g), on the time-skipping
server with the real payment activities and simulated gateway (moto ledger), whose clock is the
Temporal server's: the capture that finally gets through renews the hold first (old one voided),
then captures the full amount once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.activity import _Definition

from oms.aws import AwsClients
from oms.config import Settings
from oms.orders.contract import OrderState, SearchStatus
from oms.orders.gateway import GatewayUnavailableError, SimulatedGateway, temporal_time
from oms.orders.ledger import Ledger
from oms.orders.payloads import (
    AuthorizeInput,
    AuthorizeResult,
    CaptureInput,
    CaptureResult,
    CompensationResult,
    OrderRef,
)
from oms.orders.records import Payment, RecordState
from oms.orders.workflow import OrderWorkflow
from oms.resources import QueueUrls

from .conftest import OrderRunner, Run
from .fakes import FakeSystems

VALIDITY = timedelta(seconds=5)


def _name(function: Callable[..., Any]) -> str:
    definition = _Definition.from_callable(function)
    assert definition is not None
    return str(definition.name)


class DownGateway(SimulatedGateway):
    """The provider refuses captures (a transient outage) until the order's hold has lapsed on
    its clock (the Temporal server's): the outage outlasts the hold, in skipped or real time."""

    def capture(self, request: CaptureInput, *, idempotency_key: str) -> CaptureResult:
        books = self._ledger.get(Payment, request.order_id)
        assert books is not None
        assert books.hold_expires_at is not None
        if books.holds == 1 and temporal_time() < datetime.fromisoformat(books.hold_expires_at):
            raise GatewayUnavailableError("payment provider unavailable")
        return super().capture(request, idempotency_key=idempotency_key)


@dataclass
class RealPayment(FakeSystems):
    """The fakes, with the payment activities of the simulated gateway instead."""

    gateway: DownGateway | None = None
    captured: list[CaptureResult] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        gateway = self.gateway
        assert gateway is not None
        systems = self

        @activity.defn(name="authorize_payment")
        async def authorize(request: AuthorizeInput) -> AuthorizeResult:
            return await asyncio.to_thread(gateway.authorize, request, idempotency_key="a")

        @activity.defn(name="capture_payment")
        async def capture(request: CaptureInput) -> CaptureResult:
            result = await asyncio.to_thread(gateway.capture, request, idempotency_key="c")
            systems.captured.append(result)
            return result

        @activity.defn(name="void_payment")
        async def void(request: OrderRef) -> CompensationResult:
            return await asyncio.to_thread(gateway.void, request.order_id, idempotency_key="v")

        real: dict[str, Callable[..., Any]] = {
            "authorize_payment": authorize,
            "capture_payment": capture,
            "void_payment": void,
        }
        fakes = [a for a in super().activities() if _name(a) not in real]
        return [*fakes, *real.values()]


async def test_a_hold_that_expired_during_needs_attention_is_renewed_before_capture(
    run_order: OrderRunner,
    clients: AwsClients,
    settings: Settings,
    queues: QueueUrls,
) -> None:
    ledger: Ledger = clients.ledger(settings)
    gateway = DownGateway(ledger, validity=VALIDITY)
    systems = RealPayment(gateway=gateway)
    order_ids: list[str] = []

    async def outage_longer_than_the_hold(run: Run) -> None:
        while (await run.order_status_attribute()) != SearchStatus.NEEDS_ATTENTION:
            await run.handle.query(OrderWorkflow.status)
        order_ids.append((await run.handle.query(OrderWorkflow.status)).order_id)

    outcome = await run_order(
        systems,
        scenario="authorization-renewed",
        during=outage_longer_than_the_hold,
        attention_after_seconds=1,
    )
    assert outcome.result.state == OrderState.COMPLETED
    assert outcome.task_failures == 0
    books = ledger.get(Payment, order_ids[0])
    assert books is not None
    assert books.holds == 2  # the first hold voided and a new one authorized
    assert (books.status, books.captured) == (RecordState.CAPTURED, Decimal("45.00"))
    assert [(c.renewed, c.amount_minor) for c in systems.captured] == [(True, 4500)]
