"""Replay every recorded return history with the current ReturnWorkflow.

Returns wait for weeks and are auto-upgraded to new worker builds, so a waiting return replays
its history on code it did not start on. A change to the commands a history expects must be
guarded with `workflow.patched` (the variants below show both sides). Re-record with
`OMS_RECORD_HISTORIES=1 pytest tests/returns/test_workflow.py` only for new scenarios.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from oms.returns.activities import ReturnActivities
from oms.returns.payloads import ReturnInput, ReturnRef, ReturnStatus
from oms.returns.workflow import ReturnWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_scenario_has_a_recorded_history() -> None:
    assert {
        "received",
        "received-partial",
        "expired",
        "cancelled",
        "temporal-cancel",
        "received-parcels",
        "rejected-undelivered",
    } <= {p.stem for p in HISTORIES}


async def replay(
    path: Path, workflow_class: type, *, sandboxed: bool = True
) -> BaseException | None:
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"return-{path.stem}", text)
    extra = {} if sandboxed else {"workflow_runner": UnsandboxedWorkflowRunner()}
    result = await Replayer(
        workflows=[workflow_class], data_converter=pydantic_data_converter, **extra
    ).replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    assert await replay(path, ReturnWorkflow) is None


@workflow.defn(name="ReturnWorkflow")
class UnguardedChange(ReturnWorkflow):
    """A careless change: release the units once more before closing the return."""

    @workflow.run
    async def run(self, request: ReturnInput) -> ReturnStatus:
        return await super().run(request)

    async def _release(self) -> None:
        await self._release_first()
        await super()._release()

    async def _release_first(self) -> None:
        await workflow.execute_activity_method(
            ReturnActivities.release_return,
            ReturnRef(order_id=self._request.order_id, number=self._request.number),
            start_to_close_timeout=timedelta(seconds=30),
        )


@workflow.defn(name="ReturnWorkflow")
class PatchedChange(UnguardedChange):
    """The same change behind `workflow.patched`: returns already running keep the old path."""

    @workflow.run
    async def run(self, request: ReturnInput) -> ReturnStatus:
        return await super().run(request)

    async def _release_first(self) -> None:
        if workflow.patched("release-first"):
            await super()._release_first()


def _history(name: str) -> Path:
    return next(p for p in HISTORIES if p.stem == name)


async def test_an_unguarded_change_fails_replay_and_a_patched_one_does_not() -> None:
    failure = await replay(_history("expired"), UnguardedChange, sandboxed=False)
    assert failure is not None
    assert "nondetermin" in str(failure).lower()
    assert await replay(_history("expired"), PatchedChange, sandboxed=False) is None
