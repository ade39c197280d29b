"""ReturnWorkflow on the time-skipping server with fake activities: receive -> refund, restock,
emails; partial acceptance; expiry after the parcel window; cancel; refused updates. Every
history is replayed afterwards (and recorded with OMS_RECORD_HISTORIES=1)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from bench.history import actions
from oms.returns.contract import ReturnEvent, ReturnState, ReturnStep, return_id
from oms.returns.payloads import (
    CancelReturnRequest,
    ReceiveRequest,
    ReturnInput,
    ReturnLine,
    ReturnStatus,
)
from oms.returns.workflow import ReturnWorkflow

from .fakes import FakeReturns

HISTORIES = Path(__file__).parent / "histories"
LINES = [
    ReturnLine(sku="MUG-RED", quantity=2, unit_price=Decimal("12.50")),
    ReturnLine(sku="TEE-L-BLK", quantity=1, unit_price=Decimal("20.00")),
]

Handle = WorkflowHandle[ReturnWorkflow, ReturnStatus]
Runner = Callable[..., Awaitable[ReturnStatus]]


@pytest.fixture
async def run_return(time_env: WorkflowEnvironment) -> AsyncIterator[Runner]:
    recorded: list[tuple[str, Handle]] = []

    async def start(
        fakes: FakeReturns,
        *,
        scenario: str,
        during: Callable[[Handle], Awaitable[None]] | None = None,
        parcel_days: int = 14,
    ) -> ReturnStatus:
        queue = f"tq-{uuid.uuid4().hex[:8]}"
        order_id = f"RT-{uuid.uuid4().hex[:10]}"
        async with Worker(
            time_env.client,
            task_queue=queue,
            workflows=[ReturnWorkflow],
            activities=fakes.activities(),
        ):
            handle = await time_env.client.start_workflow(
                ReturnWorkflow.run,
                ReturnInput(
                    return_id=return_id(order_id, 1),
                    order_id=order_id,
                    number=1,
                    lines=LINES,
                    currency="EUR",
                    reason="does not fit",
                    customer_name="Ada Lovelace",
                    email="ada@example.com",
                    parcel_days=parcel_days,
                ),
                id=return_id(order_id, 1),
                task_queue=queue,
            )
            if during is not None:
                await during(handle)
            result = await handle.result()
            recorded.append((scenario, handle))
            return result

    yield start

    for scenario, handle in recorded:
        history = await handle.fetch_history()
        await Replayer(
            workflows=[ReturnWorkflow], data_converter=pydantic_data_converter
        ).replay_workflow(history)
        if os.environ.get("OMS_RECORD_HISTORIES"):
            HISTORIES.mkdir(exist_ok=True)
            (HISTORIES / f"{scenario}.json").write_text(history.to_json())


def steps(result: ReturnStatus) -> list[ReturnStep]:
    return [record.step for record in result.steps]


async def awaiting_parcel(handle: Handle) -> None:
    """Until the instructions are out and the parcel timer runs (the usual case)."""
    async with asyncio.timeout(10):
        while (await handle.query(ReturnWorkflow.status)).state != ReturnState.AWAITING_PARCEL:
            await asyncio.sleep(0.02)


async def receive(handle: Handle, accepted: dict[str, int] | None = None) -> Any:
    await awaiting_parcel(handle)
    return await receive_now(handle, accepted)


async def receive_now(handle: Handle, accepted: dict[str, int] | None = None) -> Any:
    return await handle.execute_update(ReturnWorkflow.receive, ReceiveRequest(accepted=accepted))


async def test_received_parcel_is_refunded_restocked_and_confirmed(run_return: Runner) -> None:
    fakes = FakeReturns()

    result = await run_return(fakes, scenario="received", during=receive)

    assert result.state == ReturnState.COMPLETED
    assert result.refund_amount == Decimal("45.00")
    assert [r.amount for r in fakes.refunds] == [Decimal("45.00")]
    assert fakes.refunds[0].return_id == result.return_id
    assert fakes.restocked == [{"MUG-RED": 2, "TEE-L-BLK": 1}]
    assert fakes.emails == [ReturnEvent.INSTRUCTIONS, ReturnEvent.REFUNDED]
    assert fakes.calls["release_return"] == 0
    assert steps(result) == [
        ReturnStep.SEND_INSTRUCTIONS,
        ReturnStep.RECEIVE_PARCEL,
        ReturnStep.REFUND_RETURN,
        ReturnStep.RESTOCK_RETURN,
        ReturnStep.NOTIFY_REFUND,
    ]


async def test_partial_acceptance_refunds_only_the_accepted_lines(run_return: Runner) -> None:
    fakes = FakeReturns()

    async def during(handle: Handle) -> None:
        answer = await receive(handle, {"MUG-RED": 1})
        assert answer.accepted

    result = await run_return(fakes, scenario="received-partial", during=during)

    assert result.refund_amount == Decimal("12.50")
    assert fakes.restocked == [{"MUG-RED": 1, "TEE-L-BLK": 0}]
    assert result.accepted is not None
    assert [line.quantity for line in result.accepted] == [1, 0]


async def test_a_parcel_scanned_before_the_instructions_went_out_is_received(
    run_return: Runner,
) -> None:
    fakes = FakeReturns()

    result = await run_return(fakes, scenario="received-early", during=receive_now)

    assert result.state == ReturnState.COMPLETED
    assert fakes.emails == [ReturnEvent.INSTRUCTIONS, ReturnEvent.REFUNDED]
    assert fakes.calls["release_return"] == 0


async def test_refund_is_what_the_gateway_refunded(run_return: Runner) -> None:
    fakes = FakeReturns(refund_cap=Decimal("30.00"))  # earlier refunds left only this

    result = await run_return(fakes, scenario="refund-capped", during=receive)

    assert result.refund_amount == Decimal("30.00")


async def test_no_parcel_within_the_window_expires_and_frees_the_units(
    run_return: Runner,
) -> None:
    fakes = FakeReturns()

    result = await run_return(fakes, scenario="expired", parcel_days=14)  # time skips 14 days

    assert result.state == ReturnState.EXPIRED
    assert fakes.released == [1]
    assert fakes.calls["refund_return"] == fakes.calls["restock_return"] == 0
    assert fakes.emails == [ReturnEvent.INSTRUCTIONS, ReturnEvent.EXPIRED]
    waited = result.steps[-2].at - result.steps[0].at
    assert timedelta(days=14) - timedelta(minutes=1) <= waited < timedelta(days=15)


async def test_cancel_before_the_parcel_frees_the_units_and_refuses_a_late_parcel(
    run_return: Runner,
) -> None:
    fakes = FakeReturns()

    async def during(handle: Handle) -> None:
        answer = await handle.execute_update(
            ReturnWorkflow.cancel, CancelReturnRequest(reason="kept it")
        )
        assert answer.accepted
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await receive_now(handle)
        assert "cancel" in str(refused.value.cause).lower()

    result = await run_return(fakes, scenario="cancelled", during=during)

    assert result.state == ReturnState.CANCELLED
    assert result.reason == "kept it"
    assert fakes.released == [1]
    assert fakes.emails == [ReturnEvent.INSTRUCTIONS, ReturnEvent.CANCELLED]
    assert fakes.calls["refund_return"] == 0


async def test_a_cancellation_in_temporal_releases_the_units_like_oms_return_cancel(
    run_return: Runner,
) -> None:
    fakes = FakeReturns()

    async def during(handle: Handle) -> None:
        await awaiting_parcel(handle)
        await handle.cancel()

    result = await run_return(fakes, scenario="temporal-cancel", during=during)

    assert result.state == ReturnState.CANCELLED
    assert result.reason == "cancellation requested in Temporal"
    assert fakes.released == [1]
    assert fakes.emails == [ReturnEvent.INSTRUCTIONS, ReturnEvent.CANCELLED]


async def test_receive_refuses_unknown_skus_and_too_many_units(run_return: Runner) -> None:
    fakes = FakeReturns()

    async def during(handle: Handle) -> None:
        with pytest.raises(WorkflowUpdateFailedError):
            await receive(handle, {"HAT": 1})
        with pytest.raises(WorkflowUpdateFailedError):
            await receive(handle, {"MUG-RED": 3})
        await receive(handle)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(ReturnWorkflow.cancel, CancelReturnRequest())

    result = await run_return(fakes, scenario="received-after-refusals", during=during)

    assert result.state == ReturnState.COMPLETED
    assert fakes.emails == [ReturnEvent.INSTRUCTIONS, ReturnEvent.REFUNDED]


async def test_an_email_outage_delays_the_instructions_never_duplicates_them(
    run_return: Runner,
) -> None:
    fakes = FakeReturns(failing_emails=2)

    result = await run_return(fakes, scenario="email-outage", during=receive)

    assert result.state == ReturnState.COMPLETED
    assert fakes.emails == [ReturnEvent.INSTRUCTIONS, ReturnEvent.REFUNDED]


async def test_a_received_return_costs_seven_actions(run_return: Runner) -> None:
    """start + instructions + refund + restock + refund email + the receive update + the parcel
    timer: what a return adds to its order's 8 on Temporal Cloud."""
    handles: list[Handle] = []

    async def during(handle: Handle) -> None:
        handles.append(handle)
        await receive(handle)

    await run_return(FakeReturns(), scenario="received-cost", during=during)

    events = list((await handles[0].fetch_history()).events)
    assert actions(events) == 7
