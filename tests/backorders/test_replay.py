"""Replay every recorded backorder history (orders that waited BACKORDERED, and purchase orders)
with the current code, through the deploy's replay gate (`oms.ops.replay_gate`) and its workflow
list (`oms.worker.WORKFLOWS`), as a deploy would.

Purchase orders wait for days and auto-upgrade to new builds: a change to the commands a history
expects must be guarded with `workflow.patched`. Re-record with
`OMS_RECORD_HISTORIES=1 pytest tests/backorders/test_backorder.py` only for new scenarios.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from oms.ops.replay_gate import DEFAULT_FIXTURES, replay
from oms.worker import WORKFLOWS

HERE = Path(__file__).parent / "histories"
HISTORIES = sorted(HERE.glob("*.json"))


def test_every_scenario_has_a_recorded_history_the_gate_replays() -> None:
    scenarios = {p.stem for p in HISTORIES}
    for expected in ("filled", "rejected", "unconfirmed", "late", "cancelled", "older"):
        assert f"backorder-{expected}" in scenarios, expected
    assert any(s.startswith("purchase-order-") for s in scenarios)
    project = Path(__file__).resolve().parents[2]
    assert HERE.relative_to(project) in DEFAULT_FIXTURES


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"fixture-{path.stem}", text)

    result = await replay([history], workflows=WORKFLOWS, converter=pydantic_data_converter)

    assert result.replayed == 1
    assert result.failures == []
