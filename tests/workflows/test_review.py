"""Review (§6g) on the time-skipping server: an order flagged by the provider or above
OMS_REVIEW_ABOVE waits IN_REVIEW after authorization; approve goes on, reject or no decision in
time cancels it with REVIEW_REJECTED (voided, released, one email)."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from oms.orders.contract import FailureReason, OrderState, Step
from oms.orders.payloads import OrderStatus, ReviewRequest
from oms.orders.workflow import OrderWorkflow
from oms.polling import poll_until

from .conftest import OrderRunner, Run
from .fakes import FORWARD, FakeSystems

HAPPY_ACTIONS = 8


async def in_review(run: Run) -> OrderStatus:
    return await poll_until(
        lambda: run.handle.query(OrderWorkflow.status),
        lambda status: status.state == OrderState.IN_REVIEW,
        within=30,
        what="the order to wait IN_REVIEW",
    )


async def test_a_flagged_order_waits_in_review_and_goes_on_once_approved(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(review=True)

    async def approve(run: Run) -> None:
        status = await in_review(run)
        assert systems.log == ["reserve_inventory", "authorize_payment"]  # held, not captured
        assert status.step is None
        answer = await run.handle.execute_update(
            OrderWorkflow.review, ReviewRequest(approve=True, note="called the customer")
        )
        assert answer.accepted
        with pytest.raises(WorkflowUpdateFailedError):  # decided once
            await run.handle.execute_update(
                OrderWorkflow.review, ReviewRequest(approve=False, note="again")
            )

    outcome = await run_order(systems, scenario="review-approved", during=approve)
    assert outcome.result.state == OrderState.COMPLETED
    assert systems.log == FORWARD
    review = [s for s in outcome.result.steps if s.step == Step.REVIEW]
    assert [r.detail for r in review] == ["approved: called the customer"]
    # the review costs only when used: its timer and the decision's update (the refused one is
    # rejected by the validator and never reaches the history)
    assert outcome.actions == HAPPY_ACTIONS + 2
    assert outcome.task_failures == 0


async def test_a_rejected_order_is_cancelled_voided_and_released(run_order: OrderRunner) -> None:
    systems = FakeSystems(review=True)

    async def reject(run: Run) -> None:
        await in_review(run)
        await run.handle.execute_update(
            OrderWorkflow.review, ReviewRequest(approve=False, note="stolen card pattern")
        )

    outcome = await run_order(systems, scenario="review-rejected", during=reject)
    assert outcome.result.state == OrderState.CANCELLED
    assert outcome.result.reason == FailureReason.REVIEW_REJECTED
    assert systems.log == [
        "reserve_inventory",
        "authorize_payment",
        "void_payment",
        "release_inventory",
        "notify_customer",
    ]
    assert len(systems.emails) == 1
    assert systems.emails[0].outcome == OrderState.CANCELLED
    assert outcome.order_status == "CANCELLED"


async def test_no_decision_in_time_is_a_rejection(run_order: OrderRunner) -> None:
    systems = FakeSystems(review=True)
    # A short timeout: the time-skipping server cannot skip while another test's activity hangs.
    outcome = await run_order(systems, scenario="review-timeout", review_timeout_seconds=3)
    assert outcome.result.state == OrderState.CANCELLED
    assert outcome.result.reason == FailureReason.REVIEW_REJECTED
    review = [s for s in outcome.result.steps if s.step == Step.REVIEW]
    assert review[0].detail is not None
    assert review[0].detail.startswith("rejected: no decision within")
    assert "void_payment" in systems.log


async def test_an_order_above_the_review_threshold_waits(run_order: OrderRunner) -> None:
    systems = FakeSystems()

    async def approve(run: Run) -> None:
        await in_review(run)
        await run.handle.execute_update(
            OrderWorkflow.review, ReviewRequest(approve=True, note="fine")
        )

    # the demo order totals 45.00 EUR = 4500 minor units
    outcome = await run_order(systems, scenario="review-above", during=approve, review_above=4499)
    assert outcome.result.state == OrderState.COMPLETED


async def test_at_the_threshold_there_is_no_review_and_no_cost(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    outcome = await run_order(systems, scenario="review-at-threshold", review_above=4500)
    assert outcome.result.state == OrderState.COMPLETED
    assert outcome.actions == HAPPY_ACTIONS


async def test_a_decision_for_an_order_not_in_review_is_refused(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    systems.block("prepare_shipment")

    async def decide_too_early(run: Run) -> None:
        await systems.entered["prepare_shipment"].wait()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await run.handle.execute_update(
                OrderWorkflow.review, ReviewRequest(approve=False, note="no")
            )
        assert "not waiting for a review" in str(refused.value.cause)
        systems.release("prepare_shipment")

    outcome = await run_order(systems, scenario="review-refused", during=decide_too_early)
    assert outcome.result.state == OrderState.COMPLETED
