"""A bug injected into each path of the process core, through test variants of OrderWorkflow
(same workflow type, one thing broken): a step's input, a compensation's input, the email's
input, the outcome's upsert, a signal handler, an update handler. Each ends in an outcome or
NEEDS_ATTENTION (settled by `resolve`), or, for a bug in the outcome itself, a visibly failed
workflow — never a workflow task that fails and retries forever."""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.local.demo_orders import order_body
from oms.orders.contract import CANCEL_SIGNAL, ORDER_STATUS_KEY, OrderState, SearchStatus, Step
from oms.orders.models import parse_order
from oms.orders.payloads import CancelRequest, OrderInput
from oms.orders.workflow import OrderWorkflow
from oms.polling import poll_until
from oms.process.runtime import PROCESS_BUG

from .buggy import (
    BrokenCompensation,
    BrokenEmail,
    BrokenSignal,
    BrokenStep,
    BrokenUpsert,
)
from .conftest import OrderRunner, Run
from .fakes import FakeSystems
from .test_order_workflow import settle_when_stuck


async def test_a_bug_building_a_step_fails_the_order_undoes_it_and_needs_attention(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems()
    outcome = await run_order(systems, scenario="bug-step", workflow=BrokenStep)
    assert outcome.task_failures == 0
    assert outcome.result.state == OrderState.FAILED
    assert "TypeError" in (outcome.result.attention or "")
    assert outcome.order_status == SearchStatus.NEEDS_ATTENTION
    assert [n for n in systems.log if n in ("void_payment", "release_inventory")] == [
        "void_payment",
        "release_inventory",
    ]
    assert len(systems.emails) == 1


async def test_a_bug_building_a_compensation_waits_for_a_person(run_order: OrderRunner) -> None:
    systems = FakeSystems(capture_declined=True)
    outcome = await run_order(
        systems,
        scenario="bug-compensation",
        workflow=BrokenCompensation,
        during=settle_when_stuck(Step.VOID_PAYMENT),
    )
    assert outcome.task_failures == 0
    assert outcome.result.state == OrderState.FAILED
    assert "void_payment" not in systems.log  # never started: settled by hand
    assert "release_inventory" in systems.log  # the rest is still undone
    assert outcome.order_status == SearchStatus.FAILED
    assert len(systems.emails) == 1


async def test_a_bug_building_the_email_waits_for_a_person(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    outcome = await run_order(
        systems,
        scenario="bug-email",
        workflow=BrokenEmail,
        during=settle_when_stuck(Step.NOTIFY_CUSTOMER),
    )
    assert outcome.task_failures == 0
    assert outcome.result.state == OrderState.COMPLETED
    assert not systems.emails
    assert outcome.order_status == SearchStatus.COMPLETED


async def test_a_bug_in_a_signal_handler_marks_attention_and_the_order_goes_on(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems()
    systems.block("prepare_shipment")

    async def cancel(run: Run) -> None:
        await systems.entered["prepare_shipment"].wait()
        await run.handle.signal(CANCEL_SIGNAL, CancelRequest(reason="changed my mind"))
        await poll_until(
            lambda: run.handle.query(OrderWorkflow.status),
            lambda s: s.attention is not None,
            within=30,
            what="attention",
        )
        systems.release("prepare_shipment")

    outcome = await run_order(systems, scenario="bug-signal", workflow=BrokenSignal, during=cancel)
    assert outcome.task_failures == 0
    assert outcome.result.state == OrderState.COMPLETED  # the signal was dropped, logged
    assert "cancel_order signal" in (outcome.result.attention or "")
    assert outcome.order_status == SearchStatus.NEEDS_ATTENTION
    assert len(systems.emails) == 1


async def test_a_bug_in_an_update_handler_rejects_the_update_and_marks_attention(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems()
    systems.block("prepare_shipment")
    refused: list[str] = []

    async def cancel(run: Run) -> None:
        await systems.entered["prepare_shipment"].wait()
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await run.handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="x"))
        refused.append(str(failed.value.cause))
        systems.release("prepare_shipment")

    outcome = await run_order(systems, scenario="bug-update", workflow=BrokenSignal, during=cancel)
    assert outcome.task_failures == 0
    assert refused  # the validator's bug rejects the update
    assert outcome.result.state == OrderState.COMPLETED


async def test_a_bug_in_the_outcome_fails_the_workflow_visibly(
    time_env: WorkflowEnvironment,
) -> None:
    """The last guard: nothing left to recover into, so the workflow fails (alarmed), once."""
    systems = FakeSystems()
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    order = parse_order(json.dumps(order_body(f"WF-{uuid.uuid4().hex[:10]}")))
    async with Worker(
        time_env.client, task_queue=queue, workflows=[BrokenUpsert], activities=systems.activities()
    ):
        handle = await time_env.client.start_workflow(
            OrderWorkflow.run,
            OrderInput(order=order),
            id=f"order-{order.order_id}",
            task_queue=queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ORDER_STATUS_KEY, SearchStatus.IN_PROGRESS.value)]
            ),
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        events = [e.event_type for e in (await handle.fetch_history()).events]
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == PROCESS_BUG
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in events
    assert len(systems.emails) == 1  # the email is not sent twice by the recovery
    described = await handle.describe()
    assert described.typed_search_attributes.get(ORDER_STATUS_KEY) == "NEEDS_ATTENTION"
