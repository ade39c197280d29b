"""Cancel while a step runs, for every cancellable step and every late answer of that step.

The late answer lands while the order is still compensating (the first compensation is held
until the step's answer is in the history), which is when a cancelled activity's late answer
wedged the workflow task. Whatever the step answers, the order compensates what was started,
ends CANCELLED with one email, and no workflow task fails.
"""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType

from oms.orders.contract import CANCEL_SIGNAL, OrderState
from oms.polling import poll_until

from .conftest import OrderRunner, Run
from .fakes import FORWARD, FakeSystems

UNDO = {
    "reserve_inventory": ["release_inventory"],
    "authorize_payment": ["void_payment", "release_inventory"],
    "prepare_shipment": ["cancel_shipment", "void_payment", "release_inventory"],
}
ANSWERED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
}


async def _answer_recorded(run: Run, scheduled_type: str) -> bool:
    """The step's (last) attempt answered and the answer is in the order's history."""
    events = list((await run.handle.fetch_history()).events)
    ids = {
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == scheduled_type
    }
    return any(
        e.event_type in ANSWERED
        and (
            e.activity_task_completed_event_attributes.scheduled_event_id in ids
            or e.activity_task_failed_event_attributes.scheduled_event_id in ids
        )
        for e in events
    )


# "timeout" (an attempt that never answers while the order runs) is left out here: the
# time-skipping server then stops skipping time for the rest of the session. A step that
# never answers is covered by test_cancel_while_a_step_runs_undoes_exactly_what_was_started.
@pytest.mark.parametrize("late", ["success", "business", "retryable"])
@pytest.mark.parametrize("step", list(UNDO))
async def test_a_late_answer_after_a_cancel_never_wedges_the_order(
    run_order: OrderRunner, step: str, late: str
) -> None:
    systems = FakeSystems(late={step: late})
    systems.block(step)
    first_undo = UNDO[step][0]
    systems.block(first_undo)

    async def cancel_then_answer_late(run: Run) -> None:
        await systems.entered[step].wait()
        await run.handle.signal(CANCEL_SIGNAL, "customer changed their mind")  # plain string
        await systems.entered[first_undo].wait()  # compensating, the step still running
        systems.release(step)
        await poll_until(
            lambda: _answer_recorded(run, step), bool, within=60, what=f"{step} answered"
        )
        systems.release(first_undo)

    outcome = await run_order(
        systems, scenario=f"late-{late}-{step}", during=cancel_then_answer_late
    )

    assert outcome.task_failures == 0
    assert outcome.result.state == OrderState.CANCELLED
    assert outcome.result.reason == "customer changed their mind"
    assert outcome.order_status == "CANCELLED"
    done = FORWARD[: FORWARD.index(step)]
    undone = [name for name in systems.log if name in UNDO["prepare_shipment"]]
    assert undone == UNDO[step]
    assert [name for name in systems.log if name in done] == done
    assert len(systems.emails) == 1
    assert systems.emails[0].outcome == OrderState.CANCELLED


# On the real dev server, in real time, with the fourth late answer too: an attempt that never
# answers while the order runs (its 30 s attempt timeout only ever fires after the order ended).
@pytest.mark.e2e
@pytest.mark.parametrize("late", ["success", "business", "retryable", "timeout"])
@pytest.mark.parametrize("step", list(UNDO))
async def test_on_the_dev_server_a_late_answer_after_a_cancel_never_wedges_the_order(
    run_order_live: OrderRunner, step: str, late: str
) -> None:
    systems = FakeSystems(late={step: late})
    systems.block(step)
    first_undo = UNDO[step][0]
    systems.block(first_undo)

    async def cancel_then_answer_late(run: Run) -> None:
        await systems.entered[step].wait()
        await run.handle.signal(CANCEL_SIGNAL, "customer changed their mind")
        await systems.entered[first_undo].wait()
        systems.release(step)
        if late != "timeout":
            await poll_until(
                lambda: _answer_recorded(run, step), bool, within=60, what=f"{step} answered"
            )
        systems.release(first_undo)

    try:
        outcome = await run_order_live(
            systems, scenario=f"live-late-{late}-{step}", during=cancel_then_answer_late
        )
    finally:
        systems.hung.set()  # the never-answering attempt may end now

    assert outcome.task_failures == 0
    assert outcome.result.state == OrderState.CANCELLED
    assert outcome.order_status == "CANCELLED"
    undone = [name for name in systems.log if name in UNDO["prepare_shipment"]]
    assert undone == UNDO[step]
    assert len(systems.emails) == 1
