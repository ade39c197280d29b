"""Replay every recorded delivery history with the current DeliveryWorkflow.

Deliveries wait for weeks and are auto-upgraded to new worker builds, so a waiting delivery
replays its history on code it did not start on: a change to the commands a history expects
must be guarded with `workflow.patched`. The deploy's replay gate replays the same files
(`oms.ops.replay_gate.DEFAULT_FIXTURES`). Re-record with
`OMS_RECORD_HISTORIES=1 pytest tests/delivery/test_workflow.py` only for new scenarios.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from oms.delivery.workflow import DeliveryWorkflow
from oms.ops.replay_gate import DEFAULT_FIXTURES

HERE = Path(__file__).parent / "histories"
HISTORIES = sorted(HERE.glob("*.json"))


def test_every_scenario_has_a_recorded_history_the_gate_replays() -> None:
    scenarios = {p.stem for p in HISTORIES}
    for expected in ("full-timeline", "duplicate-and-late", "exception", "silent-parcel",
                     "returned-to-sender"):  # fmt: skip
        assert any(s.startswith(expected) for s in scenarios), expected
    project = Path(__file__).resolve().parents[2]
    assert HERE.relative_to(project) in DEFAULT_FIXTURES


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"delivery-{path.stem}", text)

    result = await Replayer(
        workflows=[DeliveryWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history, raise_on_replay_failure=False)

    assert result.replay_failure is None
