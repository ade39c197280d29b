"""OrderWorkflow on the time-skipping server with activities mocked by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from temporalio.client import WorkflowUpdateFailedError

from oms.orders.contract import CANCEL_SIGNAL, OrderState, SearchStatus, Step
from oms.orders.payloads import CancelRequest, OrderStatus, ResolveRequest
from oms.orders.workflow import OrderWorkflow
from oms.polling import poll_until
from oms.process.runtime import TEMPORAL_CANCEL

from .conftest import OrderRunner, Outcome, Run
from .fakes import COMPENSATIONS, FORWARD, FakeSystems

HAPPY_ACTIONS = 8  # start + 6 activities + the outcome's upsert (CONTRACT.md §6)


def _healthy(outcome: Outcome, systems: FakeSystems) -> None:
    """What holds for every order: an outcome, one email, no wedged workflow task."""
    assert outcome.result.state.terminal
    assert outcome.task_failures == 0
    assert len(systems.emails) == 1
    assert systems.emails[0].outcome == outcome.result.state


async def test_happy_path_completes_every_step_once_within_the_action_budget(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems()
    outcome = await run_order(systems, scenario="happy")
    assert outcome.result.state == OrderState.COMPLETED
    assert outcome.result.tracking_number == "TRK-1"
    assert outcome.result.package_id == "PKG-1"
    assert systems.log == FORWARD
    assert [s.step for s in outcome.result.steps] == FORWARD
    assert outcome.order_status == "COMPLETED"
    assert outcome.actions == HAPPY_ACTIONS
    _healthy(outcome, systems)


async def test_out_of_stock_fails_without_touching_the_card(run_order: OrderRunner) -> None:
    systems = FakeSystems(out_of_stock=True)
    outcome = await run_order(systems, scenario="out-of-stock")
    assert (outcome.result.state, outcome.result.reason) == (OrderState.FAILED, "OUT_OF_STOCK")
    assert systems.log == ["notify_customer"]  # nothing reserved, nothing to release
    assert systems.calls["authorize_payment"] == 0
    assert systems.emails[0].reason == "OUT_OF_STOCK"
    assert outcome.order_status == "FAILED"
    assert outcome.actions == 4  # start, reserve, notify, upsert
    _healthy(outcome, systems)


async def test_a_declined_authorization_releases_stock_and_is_never_retried(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(declined=True)
    outcome = await run_order(systems, scenario="declined")
    assert (outcome.result.state, outcome.result.reason) == (OrderState.FAILED, "PAYMENT_DECLINED")
    assert systems.calls["authorize_payment"] == 1
    assert systems.log == ["reserve_inventory", "release_inventory", "notify_customer"]
    assert outcome.actions == 6
    _healthy(outcome, systems)


async def test_a_declined_capture_cancels_the_package_voids_and_releases(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(capture_declined=True)
    outcome = await run_order(systems, scenario="capture-declined")
    assert (outcome.result.state, outcome.result.reason) == (OrderState.FAILED, "PAYMENT_DECLINED")
    assert systems.log == [
        "reserve_inventory",
        "authorize_payment",
        "prepare_shipment",
        "cancel_shipment",
        "void_payment",
        "release_inventory",
        "notify_customer",
    ]
    assert systems.calls["refund_payment"] == 0  # nothing was captured
    assert outcome.actions == 10  # start, 4 steps, 3 compensations, notify, upsert
    _healthy(outcome, systems)


async def test_a_flaky_authorization_is_retried_to_success(run_order: OrderRunner) -> None:
    systems = FakeSystems(flaky_authorizations=2)
    outcome = await run_order(systems, scenario="flaky-payment")
    assert outcome.result.state == OrderState.COMPLETED
    assert systems.calls["authorize_payment"] == 3
    assert outcome.actions == HAPPY_ACTIONS + 2  # each retry is an action
    _healthy(outcome, systems)


async def test_an_email_outage_delays_the_email_but_not_the_outcome(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(failing_emails=5)
    outcome = await run_order(systems, scenario="email-outage")
    assert outcome.result.state == OrderState.COMPLETED
    assert systems.calls["notify_customer"] == 6
    assert outcome.result.attention is None
    _healthy(outcome, systems)


async def test_a_step_that_keeps_failing_fails_the_order_and_undoes_the_rest(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(broken={"prepare_shipment"})
    outcome = await run_order(systems, scenario="shipment-outage")
    assert (outcome.result.state, outcome.result.reason) == (OrderState.FAILED, "SHIPMENT_FAILED")
    assert systems.log == [
        "reserve_inventory",
        "authorize_payment",
        "cancel_shipment",  # it may have prepared a package before failing: undo defensively
        "void_payment",
        "release_inventory",
        "notify_customer",
    ]
    _healthy(outcome, systems)


UNDO = {
    "reserve_inventory": ["release_inventory"],
    "authorize_payment": ["void_payment", "release_inventory"],
    "prepare_shipment": ["cancel_shipment", "void_payment", "release_inventory"],
}


@pytest.mark.parametrize("step", list(UNDO))
@pytest.mark.parametrize("via", ["signal", "update"])
async def test_cancel_while_a_step_runs_undoes_exactly_what_was_started(
    run_order: OrderRunner, step: str, via: str
) -> None:
    systems = FakeSystems()
    systems.block(step)
    at_close: list[str] = []

    async def cancel_mid_step(run: Run) -> None:
        await systems.entered[step].wait()
        request = CancelRequest(reason="customer changed their mind")
        if via == "signal":
            await run.handle.signal(CANCEL_SIGNAL, request)
        else:
            response = await run.handle.execute_update(OrderWorkflow.cancel, request)
            assert response.accepted
        outcome = await run.handle.result()  # the workflow does not wait for the stuck step
        assert outcome.state == OrderState.CANCELLED
        at_close.extend(systems.log)
        systems.release(step)  # the stuck attempt finishes late: the real activities refuse it

    outcome = await run_order(systems, scenario=f"cancel-{via}-{step}", during=cancel_mid_step)
    assert outcome.result.reason == "customer changed their mind"
    assert outcome.order_status == "CANCELLED"
    done = FORWARD[: FORWARD.index(step)]
    assert at_close == [*done, *UNDO[step], "notify_customer"]
    # start, the steps started, the cancel, their compensations, notify, upsert (README's figure)
    assert outcome.actions == 1 + 2 * (len(done) + 1) + 3
    _healthy(outcome, systems)


async def test_cancel_is_rejected_once_capture_started(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    systems.block("capture_payment")

    async def cancel_while_capturing(run: Run) -> None:
        await systems.entered["capture_payment"].wait()
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await run.handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="late"))
        assert "capture" in str(rejected.value.cause)
        await run.handle.signal(CANCEL_SIGNAL, CancelRequest(reason="late"))  # ignored
        await run.handle.cancel()  # Temporal's own cancellation: ignored too
        systems.release("capture_payment")

    outcome = await run_order(systems, scenario="cancel-rejected", during=cancel_while_capturing)
    assert outcome.result.state == OrderState.COMPLETED
    assert not set(COMPENSATIONS) & set(systems.log)
    assert outcome.order_status == "COMPLETED"
    _healthy(outcome, systems)


async def test_a_temporal_cancel_while_shipping_finishes_the_order(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    systems.block("ship")

    async def cancel_while_shipping(run: Run) -> None:
        await systems.entered["ship"].wait()
        await run.handle.cancel()
        systems.release("ship")

    outcome = await run_order(
        systems, scenario="temporal-cancel-ship", during=cancel_while_shipping
    )
    assert outcome.result.state == OrderState.COMPLETED
    assert outcome.order_status == "COMPLETED"
    _healthy(outcome, systems)


async def test_a_temporal_cancellation_runs_the_same_saga(run_order: OrderRunner) -> None:
    """Cancelled from the Temporal UI or CLI (not our signal/update): same compensation."""
    systems = FakeSystems()
    systems.block("prepare_shipment")

    async def cancel_from_temporal(run: Run) -> None:
        await systems.entered["prepare_shipment"].wait()
        await run.handle.cancel()
        systems.release("prepare_shipment")

    outcome = await run_order(systems, scenario="temporal-cancel", during=cancel_from_temporal)
    assert (outcome.result.state, outcome.result.reason) == (OrderState.CANCELLED, TEMPORAL_CANCEL)
    assert systems.log == [
        "reserve_inventory", "authorize_payment", "prepare_shipment",
        "cancel_shipment", "void_payment", "release_inventory", "notify_customer",
    ]  # fmt: skip
    _healthy(outcome, systems)


@pytest.mark.parametrize(
    "compensation", ["cancel_shipment", "void_payment", "release_inventory", "refund_payment"]
)
async def test_a_temporal_cancel_during_compensation_does_not_abandon_it(
    run_order: OrderRunner, compensation: str
) -> None:
    # A declined capture compensates everything but the capture; a shipping failure after
    # capture also refunds.
    refund = compensation == "refund_payment"
    systems = FakeSystems(capture_declined=not refund, unknown_error={"ship"} if refund else set())
    systems.block(compensation)

    async def cancel_mid_compensation(run: Run) -> None:
        await systems.entered[compensation].wait()
        await run.handle.cancel()
        systems.release(compensation)

    outcome = await run_order(
        systems, scenario=f"temporal-cancel-{compensation}", during=cancel_mid_compensation
    )
    assert outcome.result.state == OrderState.FAILED
    undo = ["cancel_shipment", "void_payment", "release_inventory"]
    assert systems.log[-4:] == [*undo, "notify_customer"]
    if refund:
        assert "refund_payment" in systems.log
    _healthy(outcome, systems)


@pytest.mark.parametrize("step", FORWARD[:-1])
async def test_an_unknown_error_type_at_any_step_ends_in_an_outcome(
    run_order: OrderRunner, step: str
) -> None:
    systems = FakeSystems(unknown_error={step})
    outcome = await run_order(systems, scenario=f"unknown-error-{step}")
    assert outcome.result.state == OrderState.FAILED
    assert outcome.result.reason
    assert outcome.order_status == "FAILED"
    _healthy(outcome, systems)


def settle_when_stuck(step: str, note: str = "done by hand") -> Callable[[Run], Awaitable[None]]:
    """`during`: wait until the order needs attention at `step`, then settle it by hand."""

    async def settle(run: Run) -> None:
        async def stuck() -> OrderStatus:
            return await run.handle.query(OrderWorkflow.status)

        status = await poll_until(
            stuck, lambda s: s.attention is not None and s.step == step, within=60, what=step
        )
        assert await run.order_status_attribute() == SearchStatus.NEEDS_ATTENTION
        assert step in (status.attention or "")
        answer = await run.handle.execute_update(
            OrderWorkflow.resolve, ResolveRequest(step=step, note=note)
        )
        assert answer.accepted

    return settle


@pytest.mark.parametrize("compensation", ["cancel_shipment", "void_payment", "release_inventory"])
async def test_an_unknown_error_in_a_compensation_waits_for_a_person_not_a_wedge(
    run_order: OrderRunner, compensation: str
) -> None:
    """A compensation that fails for good waits NEEDS_ATTENTION (open, so `oms doctor` and
    `oms resolve` reach it); once settled by hand the order ends with its outcome."""
    systems = FakeSystems(capture_declined=True, unknown_error={compensation})
    outcome = await run_order(
        systems, scenario=f"unknown-error-{compensation}", during=settle_when_stuck(compensation)
    )
    assert outcome.result.state == OrderState.FAILED
    assert outcome.result.attention is None
    settled = [s for s in outcome.result.steps if s.step == compensation]
    assert [s.detail for s in settled] == [
        f"{compensation} failed: SomethingNew",
        "settled by hand: done by hand",
    ]
    assert outcome.order_status == SearchStatus.FAILED
    _healthy(outcome, systems)


async def test_an_unknown_error_from_the_email_waits_for_a_person(run_order: OrderRunner) -> None:
    systems = FakeSystems(unknown_error={"notify_customer"})
    outcome = await run_order(
        systems, scenario="unknown-error-email", during=settle_when_stuck("notify_customer")
    )
    assert outcome.result.state == OrderState.COMPLETED
    assert outcome.order_status == SearchStatus.COMPLETED
    assert outcome.task_failures == 0
    assert systems.calls["notify_customer"] == 1  # never retried
    assert not systems.emails


async def test_compensations_with_nothing_to_undo_are_not_recorded(run_order: OrderRunner) -> None:
    systems = FakeSystems(capture_declined=True, nothing_to_undo=True)
    outcome = await run_order(systems, scenario="nothing-to-undo")
    recorded = [s.step for s in outcome.result.steps]
    assert not set(COMPENSATIONS) & set(recorded)
    _healthy(outcome, systems)


async def test_an_address_ses_refuses_is_recorded_not_retried(run_order: OrderRunner) -> None:
    systems = FakeSystems(rejected_email=True)
    outcome = await run_order(systems, scenario="email-rejected")
    assert outcome.result.state == OrderState.COMPLETED
    assert systems.calls["notify_customer"] == 1
    assert not outcome.result.email_sent
    assert "not sent" in (outcome.result.steps[-1].detail or "")


async def test_an_order_cancelled_before_it_arrived_ends_cancelled_at_once(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems()
    outcome = await run_order(
        systems, scenario="cancelled-before-start", cancelled_before_start="customer called"
    )
    assert (outcome.result.state, outcome.result.reason) == (
        OrderState.CANCELLED,
        "customer called",
    )
    assert systems.log == ["notify_customer"]
    _healthy(outcome, systems)


async def test_a_stuck_compensation_needs_attention_then_recovers(run_order: OrderRunner) -> None:
    systems = FakeSystems(capture_declined=True, broken={"release_inventory"})

    async def recover(run: Run) -> None:
        while (await run.order_status_attribute()) != SearchStatus.NEEDS_ATTENTION:
            await run.handle.query(OrderWorkflow.status)  # time skips while we wait
        status = await run.handle.query(OrderWorkflow.status)
        assert status.attention
        assert "release_inventory" in status.attention
        assert status.step == Step.RELEASE_INVENTORY
        systems.broken.clear()  # the outage ends: the retries go on and succeed

    outcome = await run_order(
        systems, scenario="attention-recovers", during=recover, attention_after_seconds=3
    )
    assert outcome.result.state == OrderState.FAILED
    assert outcome.result.attention is None
    assert outcome.order_status == "FAILED"
    _healthy(outcome, systems)


async def test_an_operator_settles_a_stuck_compensation_by_hand(run_order: OrderRunner) -> None:
    systems = FakeSystems(capture_declined=True, broken={"void_payment"})

    async def settle(run: Run) -> None:
        while (await run.order_status_attribute()) != SearchStatus.NEEDS_ATTENTION:
            await run.handle.query(OrderWorkflow.status)
        with pytest.raises(WorkflowUpdateFailedError):  # only the stuck step can be settled
            await run.handle.execute_update(
                OrderWorkflow.resolve, ResolveRequest(step=Step.SHIP, note="no")
            )
        answer = await run.handle.execute_update(
            OrderWorkflow.resolve,
            ResolveRequest(step=Step.VOID_PAYMENT, note="voided in the provider's dashboard"),
        )
        assert answer.accepted

    outcome = await run_order(
        systems, scenario="attention-resolved", during=settle, attention_after_seconds=3
    )
    assert outcome.result.state == OrderState.FAILED
    void = [s for s in outcome.result.steps if s.step == Step.VOID_PAYMENT]
    assert void
    assert "voided in the provider's dashboard" in (void[0].detail or "")
    assert outcome.order_status == "FAILED"
    _healthy(outcome, systems)


async def test_status_query_reports_the_running_step_and_what_is_done(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems()
    systems.block("prepare_shipment")

    async def inspect(run: Run) -> None:
        await systems.entered["prepare_shipment"].wait()
        status = await run.handle.query(OrderWorkflow.status)
        assert isinstance(status, OrderStatus)
        assert status.state == OrderState.AUTHORIZED
        assert status.step == Step.PREPARE_SHIPMENT
        assert [s.step for s in status.steps] == ["reserve_inventory", "authorize_payment"]
        assert status.steps[0].at <= status.steps[1].at
        assert status.tracking_number is None
        assert await run.order_status_attribute() == SearchStatus.IN_PROGRESS
        systems.release("prepare_shipment")

    outcome = await run_order(systems, scenario="status", during=inspect)
    assert outcome.result.state == OrderState.COMPLETED


async def test_an_oversized_cancel_reason_is_refused(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    systems.block("reserve_inventory")

    async def huge_reason(run: Run) -> None:
        await systems.entered["reserve_inventory"].wait()
        await run.handle.signal(CANCEL_SIGNAL, {"reason": "x" * 100_000})
        status = await run.handle.query(OrderWorkflow.status)
        assert not status.cancel_requested
        systems.release("reserve_inventory")

    outcome = await run_order(systems, scenario="huge-reason", during=huge_reason)
    assert outcome.result.state == OrderState.COMPLETED
