"""Order edits before capture (§6g) on the time-skipping server with activities mocked by name:
the stock difference and the new hold, an `edit` step, one summary email; refused with nothing
changed once capture has started or when the new lines are out of stock or declined."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError

from oms.orders.contract import OrderState, Step
from oms.orders.payloads import EditRequest, ReviewRequest
from oms.orders.workflow import OrderWorkflow

from .conftest import OrderRunner, Run
from .fakes import FakeSystems
from .test_review import in_review

# The demo order: MUG-RED 2 x 12.50 + TEE-L-BLK 1 x 20.00 = 45.00 EUR


async def test_an_edit_while_in_review_moves_the_difference_and_the_hold(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(review=True)

    async def edit_then_approve(run: Run) -> None:
        await in_review(run)
        answer = await run.handle.execute_update(
            OrderWorkflow.edit,
            EditRequest(items={"MUG-RED": 3, "TEE-L-BLK": 0}, reason="customer called"),
        )
        assert answer.accepted
        assert answer.total_amount == Decimal("37.50")
        await run.handle.execute_update(
            OrderWorkflow.review, ReviewRequest(approve=True, note="ok")
        )

    outcome = await run_order(systems, scenario="edit-in-review", during=edit_then_approve)
    assert outcome.result.state == OrderState.COMPLETED
    [adjusted] = systems.adjustments
    assert (adjusted.before, adjusted.after) == ({"MUG-RED": 2, "TEE-L-BLK": 1}, {"MUG-RED": 3})
    [hold] = systems.holds
    assert (hold.amount, hold.revision) == (Decimal("37.50"), 1)
    assert systems.log.index("reauthorize_payment") < systems.log.index("capture_payment")
    edit = [s for s in outcome.result.steps if s.step == Step.EDIT]
    assert [e.detail for e in edit] == ["total 45.00 EUR -> 37.50 EUR: customer called"]
    # two emails: the edit's summary (its own event) and the outcome, both with the new lines
    assert [e.event for e in systems.emails] == ["edit-1", None]
    assert systems.emails[1].total_amount == Decimal("37.50")
    assert [(line.sku, line.quantity) for line in systems.emails[1].lines] == [("MUG-RED", 3)]


async def test_an_edit_after_capture_started_is_refused_and_changes_nothing(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems()
    systems.block("capture_payment")

    async def edit_too_late(run: Run) -> None:
        await systems.entered["capture_payment"].wait()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await run.handle.execute_update(
                OrderWorkflow.edit, EditRequest(items={"MUG-RED": 1}, reason="too late")
            )
        assert "capture has started" in str(refused.value.cause)
        systems.release("capture_payment")

    outcome = await run_order(systems, scenario="edit-refused", during=edit_too_late)
    assert outcome.result.state == OrderState.COMPLETED
    assert not systems.adjustments
    assert not systems.holds
    assert systems.emails[0].total_amount == Decimal("45.00")


@pytest.mark.parametrize("problem", ["out_of_stock", "declined"])
async def test_an_edit_that_cannot_apply_is_refused_and_the_order_goes_on(
    run_order: OrderRunner, problem: str
) -> None:
    systems = FakeSystems(
        review=True,
        edit_out_of_stock=problem == "out_of_stock",
        edit_declined=problem == "declined",
    )

    async def edit(run: Run) -> None:
        await in_review(run)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await run.handle.execute_update(
                OrderWorkflow.edit, EditRequest(items={"MUG-RED": 5}, reason="more")
            )
        assert ("stock" if problem == "out_of_stock" else "declined") in str(refused.value.cause)
        await run.handle.execute_update(
            OrderWorkflow.review, ReviewRequest(approve=True, note="ok")
        )

    outcome = await run_order(systems, scenario=f"edit-{problem}", during=edit)
    assert outcome.result.state == OrderState.COMPLETED
    assert not [s for s in outcome.result.steps if s.step == Step.EDIT]
    if problem == "declined":  # the stock taken for the edit is put back
        assert [(a.before, a.after) for a in systems.adjustments] == [
            ({"MUG-RED": 2, "TEE-L-BLK": 1}, {"MUG-RED": 5, "TEE-L-BLK": 1}),
            ({"MUG-RED": 5, "TEE-L-BLK": 1}, {"MUG-RED": 2, "TEE-L-BLK": 1}),
        ]
    assert [e.event for e in systems.emails] == [None]
    assert systems.emails[0].total_amount == Decimal("45.00")


@pytest.mark.parametrize(
    ("items", "why"),
    [({"MUG-RED": 0, "TEE-L-BLK": 0}, "at least one line"), ({"HAT": 1}, "not in the order")],
)
async def test_an_edit_that_breaks_the_rules_is_refused(
    run_order: OrderRunner, items: dict[str, int], why: str
) -> None:
    systems = FakeSystems(review=True)

    async def edit(run: Run) -> None:
        await in_review(run)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await run.handle.execute_update(
                OrderWorkflow.edit, EditRequest(items=items, reason="no")
            )
        assert why in str(refused.value.cause)
        await run.handle.execute_update(
            OrderWorkflow.review, ReviewRequest(approve=False, note="done")
        )

    outcome = await run_order(systems, scenario="edit-invalid", during=edit)
    assert outcome.result.state == OrderState.CANCELLED
    assert not systems.adjustments
