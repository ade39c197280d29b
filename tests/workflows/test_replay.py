"""Replay every recorded history with the current workflow code.

A change that alters the commands an existing history expects (reordered activities, a new
timer, a renamed step) fails here: such a change needs `workflow.patched` or a new workflow
type. Re-record with `OMS_RECORD_HISTORIES=1 pytest tests/workflows` only for new scenarios (or, as
for the authorize/capture redesign, before anything ran in production, saying so in the commit).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from oms.orders.workflow import OrderWorkflow
from tests.workflows.variants import ReorderedOrderWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_scenario_has_a_recorded_history() -> None:
    names = {path.stem for path in HISTORIES}
    assert {
        "happy",
        "out-of-stock",
        "declined",
        "capture-declined",
        "flaky-payment",
        "email-outage",
        "cancelled-before-start",
        "attention-resolved",
    } <= names
    assert any(name.startswith("cancel-update-") for name in names)
    assert any(name.startswith("cancel-signal-") for name in names)


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"order-{path.stem}", text)
    result = await Replayer(
        workflows=[OrderWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_a_non_deterministic_change_fails_replay() -> None:
    path = next(p for p in HISTORIES if p.stem == "happy")
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json("order-happy", text)
    result = await Replayer(
        workflows=[ReorderedOrderWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),  # the variant lives in this test module
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()
