"""DeliveryWorkflow on the time-skipping server with fake activities: the full timeline (review
request after 7 days), duplicate and out-of-order events, an exception settled by refund, a
silent parcel settled by reship, returned to sender, refused resolves. Every history is replayed
afterwards; billable actions per delivery are counted from the histories."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from bench.history import actions
from oms.delivery.contract import (
    DELIVERY_STEP,
    CarrierStatus,
    DeliveryEmail,
    DeliveryState,
    ResolveAction,
    delivery_id,
)
from oms.delivery.payloads import (
    CarrierEvent,
    DeliveryInput,
    DeliveryResolveRequest,
    DeliveryStatus,
    ParcelLine,
)
from oms.delivery.workflow import DeliveryWorkflow
from oms.polling import poll_until
from oms.process.visibility import ORDER_STATUS_KEY

from .fakes import FakeDelivery

Handle = WorkflowHandle[DeliveryWorkflow, DeliveryStatus]
HISTORIES = Path(__file__).parent / "histories"
TRACKING = "TRK000000000001GB"
LINES = [ParcelLine(sku="MUG-RED", quantity=2, unit_price=Decimal("12.50"))]


@dataclass
class Outcome:
    result: DeliveryStatus
    actions: int
    search_status: str | None


Runner = Callable[..., Awaitable[Outcome]]


@pytest.fixture
async def run_delivery(
    time_env: WorkflowEnvironment, request: pytest.FixtureRequest
) -> AsyncIterator[Runner]:
    handles: list[Handle] = []

    async def start(
        fakes: FakeDelivery, during: Callable[[Handle, WorkflowEnvironment], Awaitable[None]]
    ) -> Outcome:
        queue = f"tq-{uuid.uuid4().hex[:8]}"
        order_id = f"DL-{uuid.uuid4().hex[:10]}"
        async with Worker(
            time_env.client,
            task_queue=queue,
            workflows=[DeliveryWorkflow],
            activities=fakes.activities(),
        ):
            handle = await time_env.client.start_workflow(
                DeliveryWorkflow.run,
                DeliveryInput(
                    order_id=order_id,
                    number=1,
                    tracking_number=TRACKING,
                    lines=LINES,
                    currency="EUR",
                    captured=Decimal("25.00"),
                    customer_name="Ada Lovelace",
                    email="ada@example.com",
                ),
                id=delivery_id(order_id, 1),
                task_queue=queue,
            )
            await during(handle, time_env)
            result = await handle.result()
            handles.append(handle)
            events = list((await handle.fetch_history()).events)
            search = (await handle.describe()).typed_search_attributes.get(ORDER_STATUS_KEY)
            return Outcome(result, actions(events), search)

    yield start

    # The scenario is the test's name: `OMS_RECORD_HISTORIES=1` writes each history where the
    # replay tests and the deploy's replay gate read them (tests/delivery/test_replay.py).
    scenario = request.node.originalname.removeprefix("test_").replace("_", "-")
    for n, handle in enumerate(handles):
        history = await handle.fetch_history()
        await Replayer(
            workflows=[DeliveryWorkflow], data_converter=pydantic_data_converter
        ).replay_workflow(history)
        if os.environ.get("OMS_RECORD_HISTORIES"):
            HISTORIES.mkdir(exist_ok=True)
            name = scenario if n == 0 else f"{scenario}-{n + 1}"
            (HISTORIES / f"{name}.json").write_text(history.to_json())


def event(
    status: CarrierStatus, event_id: str | None = None, tracking: str = TRACKING
) -> CarrierEvent:
    return CarrierEvent(
        event_id=event_id or uuid.uuid4().hex,
        tracking_number=tracking,
        status=status,
        at=datetime.now(UTC),
    )


async def until(handle: Handle, done: Callable[[DeliveryStatus], bool], what: str) -> None:
    await poll_until(
        lambda: handle.query(DeliveryWorkflow.status), done, within=10, what=what, first=0.02
    )


async def resolve(handle: Handle, action: ResolveAction) -> None:
    await handle.execute_update(
        DeliveryWorkflow.resolve,
        DeliveryResolveRequest(step=DELIVERY_STEP, note="carrier confirmed", action=action),
    )


def deliver(tracking: str = TRACKING) -> Callable[[Handle, WorkflowEnvironment], Awaitable[None]]:
    async def during(handle: Handle, _env: WorkflowEnvironment) -> None:
        for status in (
            CarrierStatus.IN_TRANSIT,
            CarrierStatus.OUT_FOR_DELIVERY,
            CarrierStatus.DELIVERED,
        ):
            # one at a time, as a carrier sends them: each restarts the silence timer
            await handle.signal(DeliveryWorkflow.carrier_event, event(status, tracking=tracking))
            await until(handle, reached(status.value), status.value)

    return during


def reached(state: str) -> Callable[[DeliveryStatus], bool]:
    return lambda status: status.state == state


def at_of(result: DeliveryStatus, detail: str) -> datetime:
    return next(step.at for step in result.steps if step.detail == detail)


async def test_full_timeline_milestone_emails_then_review_after_seven_days(
    run_delivery: Runner,
) -> None:
    fakes = FakeDelivery()

    outcome = await run_delivery(fakes, deliver())

    result = outcome.result
    assert result.state == DeliveryState.DELIVERED
    assert fakes.emails == [
        DeliveryEmail.OUT_FOR_DELIVERY,
        DeliveryEmail.DELIVERED,
        DeliveryEmail.REVIEW_REQUEST,
    ]
    waited = at_of(result, DeliveryEmail.REVIEW_REQUEST) - at_of(result, DeliveryEmail.DELIVERED)
    assert timedelta(days=7) <= waited < timedelta(days=7, hours=1)
    assert outcome.search_status is None  # nobody was needed: no upsert
    # start 1 + 3 signals + up to 3 silence timers + 3 emails + the review timer 1: signals
    # handled in one workflow task share one silence timer, so a loaded machine may count fewer
    assert 9 <= outcome.actions <= 11


async def test_duplicate_and_late_events_change_nothing(run_delivery: Runner) -> None:
    fakes = FakeDelivery()

    async def during(handle: Handle, _env: WorkflowEnvironment) -> None:
        send = handle.signal
        await send(DeliveryWorkflow.carrier_event, event(CarrierStatus.IN_TRANSIT, "e1"))
        await send(DeliveryWorkflow.carrier_event, event(CarrierStatus.OUT_FOR_DELIVERY, "e2"))
        await send(DeliveryWorkflow.carrier_event, event(CarrierStatus.OUT_FOR_DELIVERY, "e2"))
        await send(DeliveryWorkflow.carrier_event, event(CarrierStatus.IN_TRANSIT, "e3"))
        await until(handle, lambda s: s.state == DeliveryState.OUT_FOR_DELIVERY, "out")
        await send(DeliveryWorkflow.carrier_event, event(CarrierStatus.DELIVERED, "e4"))
        await send(DeliveryWorkflow.carrier_event, event(CarrierStatus.DELIVERED, "e4"))
        await send(DeliveryWorkflow.carrier_event, event(CarrierStatus.OUT_FOR_DELIVERY, "e5"))

    outcome = await run_delivery(fakes, during)

    assert outcome.result.state == DeliveryState.DELIVERED
    assert fakes.emails == [
        DeliveryEmail.OUT_FOR_DELIVERY,
        DeliveryEmail.DELIVERED,
        DeliveryEmail.REVIEW_REQUEST,
    ]
    assert [e.event_id for e in outcome.result.events][:4] == ["e1", "e2", "e3", "e4"]
    states = [s.detail for s in outcome.result.steps if s.step == "carrier_event"]
    assert states == ["IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"]


async def test_exception_emails_once_needs_attention_and_refund_settles_it(
    run_delivery: Runner,
) -> None:
    fakes = FakeDelivery()

    async def during(handle: Handle, _env: WorkflowEnvironment) -> None:
        await handle.signal(DeliveryWorkflow.carrier_event, event(CarrierStatus.IN_TRANSIT))
        await handle.signal(DeliveryWorkflow.carrier_event, event(CarrierStatus.EXCEPTION))
        await handle.signal(DeliveryWorkflow.carrier_event, event(CarrierStatus.EXCEPTION))
        await until(handle, lambda s: s.attention is not None, "attention")
        described = await handle.describe()
        assert described.typed_search_attributes.get(ORDER_STATUS_KEY) == "NEEDS_ATTENTION"
        await resolve(handle, ResolveAction.REFUND)

    outcome = await run_delivery(fakes, during)

    assert outcome.result.state == DeliveryState.EXCEPTION
    assert fakes.emails == [DeliveryEmail.EXCEPTION, DeliveryEmail.REFUNDED]
    assert [r.amount for r in fakes.refunds] == [Decimal("25.00")]
    assert outcome.result.refunded == Decimal("25.00")
    assert outcome.result.attention is None
    assert outcome.search_status == "COMPLETED"  # it needed a person; now settled


async def test_silent_parcel_is_lost_after_ten_days_and_reship_delivers_a_new_one(
    run_delivery: Runner,
) -> None:
    fakes = FakeDelivery()

    async def during(handle: Handle, env: WorkflowEnvironment) -> None:
        await handle.signal(DeliveryWorkflow.carrier_event, event(CarrierStatus.IN_TRANSIT))
        await until(handle, lambda s: s.state == DeliveryState.IN_TRANSIT, "in transit")
        await env.sleep(timedelta(days=9))
        assert (await handle.query(DeliveryWorkflow.status)).attention is None
        await env.sleep(timedelta(days=1, hours=1))
        await until(handle, lambda s: s.state == DeliveryState.LOST, "lost")
        status = await handle.query(DeliveryWorkflow.status)
        assert status.attention is not None
        assert "may be lost" in status.attention
        await resolve(handle, ResolveAction.RESHIP)
        await until(handle, lambda s: s.tracking_number == "TRK-NEW-1", "reshipped")
        # the old parcel turns up late: nothing changes
        await handle.signal(DeliveryWorkflow.carrier_event, event(CarrierStatus.DELIVERED))
        await deliver("TRK-NEW-1")(handle, env)

    outcome = await run_delivery(fakes, during)

    result = outcome.result
    assert result.state == DeliveryState.DELIVERED
    assert result.tracking_number == "TRK-NEW-1"
    assert [r.attempt for r in fakes.reships] == [1]
    assert fakes.refunds == []
    assert fakes.emails == [
        DeliveryEmail.RESHIPPED,
        DeliveryEmail.OUT_FOR_DELIVERY,
        DeliveryEmail.DELIVERED,
        DeliveryEmail.REVIEW_REQUEST,
    ]
    assert outcome.search_status == "COMPLETED"


async def test_returned_to_sender_restocks_and_refunds(run_delivery: Runner) -> None:
    fakes = FakeDelivery(failing_refunds=2)

    async def during(handle: Handle, _env: WorkflowEnvironment) -> None:
        await handle.signal(DeliveryWorkflow.carrier_event, event(CarrierStatus.IN_TRANSIT))
        await handle.signal(DeliveryWorkflow.carrier_event, event(CarrierStatus.RETURNED_TO_SENDER))

    outcome = await run_delivery(fakes, during)

    assert outcome.result.state == DeliveryState.RETURNED_TO_SENDER
    assert [r.lines for r in fakes.restocked] == [LINES]
    assert [r.amount for r in fakes.refunds] == [Decimal("25.00")]
    assert fakes.emails == [DeliveryEmail.RETURNED]


async def test_resolve_is_refused_while_the_parcel_is_on_its_way(run_delivery: Runner) -> None:
    fakes = FakeDelivery()

    async def during(handle: Handle, env: WorkflowEnvironment) -> None:
        await handle.signal(DeliveryWorkflow.carrier_event, event(CarrierStatus.IN_TRANSIT))
        await until(handle, lambda s: s.state == DeliveryState.IN_TRANSIT, "in transit")
        with pytest.raises(WorkflowUpdateFailedError):
            await resolve(handle, ResolveAction.REFUND)
        await deliver()(handle, env)

    outcome = await run_delivery(fakes, during)

    assert outcome.result.state == DeliveryState.DELIVERED
    assert fakes.refunds == []
