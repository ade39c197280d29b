"""Replay every recorded subscription history with the current SubscriptionWorkflow.

Subscriptions wait for months and are auto-upgraded to new worker builds, so a waiting run
replays its history on code it did not start on. A change to the commands a run issues must be
guarded with `workflow.patched` (the variants below show both sides). Re-record with
`OMS_RECORD_HISTORIES=1 pytest tests/subscriptions/test_workflow.py` only for new scenarios.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from oms.orders.workflow import OrderWorkflow
from oms.subscriptions.contract import SubscriptionEvent
from oms.subscriptions.payloads import SubscriptionInput, SubscriptionStatus
from oms.subscriptions.workflow import SubscriptionWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_scenario_has_a_recorded_history() -> None:
    scenarios = {p.stem.rsplit("-run", 1)[0] for p in HISTORIES}
    assert {"monthly", "pause", "skip-change", "dunning", "cancel-during-order"} <= scenarios


async def replay(
    path: Path, workflow_class: type, *, sandboxed: bool = True
) -> BaseException | None:
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"subscription-{path.stem}", text)
    extra = {} if sandboxed else {"workflow_runner": UnsandboxedWorkflowRunner()}
    result = await Replayer(
        workflows=[workflow_class, OrderWorkflow], data_converter=pydantic_data_converter, **extra
    ).replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    assert await replay(path, SubscriptionWorkflow) is None


@workflow.defn(name="SubscriptionWorkflow")
class UnguardedChange(SubscriptionWorkflow):
    """A careless change: a second reminder, sent right after the first."""

    @workflow.run
    async def run(self, request: SubscriptionInput) -> SubscriptionStatus:
        return await super().run(request)

    async def _remind(self, due):  # type: ignore[no-untyped-def]
        await super()._remind(due)
        await self._second_reminder(due)

    async def _second_reminder(self, due):  # type: ignore[no-untyped-def]
        await self._email(SubscriptionEvent.REMINDER, f"{self._cycle}-again", due)


@workflow.defn(name="SubscriptionWorkflow")
class PatchedChange(UnguardedChange):
    """The same change behind `workflow.patched`: runs already waiting keep the old path."""

    @workflow.run
    async def run(self, request: SubscriptionInput) -> SubscriptionStatus:
        return await super().run(request)

    async def _second_reminder(self, due):  # type: ignore[no-untyped-def]
        if workflow.patched("second-reminder"):
            await super()._second_reminder(due)


async def test_an_unguarded_change_fails_replay_and_a_patched_one_does_not() -> None:
    reminded = next(p for p in HISTORIES if p.stem == "monthly-run2")
    failure = await replay(reminded, UnguardedChange, sandboxed=False)
    assert failure is not None
    assert "nondetermin" in str(failure).lower()
    assert await replay(reminded, PatchedChange, sandboxed=False) is None
