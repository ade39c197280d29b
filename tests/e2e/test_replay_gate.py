"""The deploy's replay gate: it passes the current code and stops an incompatible change, on the
recorded fixtures and on histories fetched from a namespace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from oms.aws import AwsClients
from oms.config import Settings
from oms.local.demo_orders import order_body
from oms.ops import replay_gate
from oms.orders.client import OrderClient, Submission
from oms.orders.contract import OrderState, order_workflow_id
from oms.orders.models import parse_order
from oms.orders.payloads import OrderStatus
from oms.worker import WORKFLOWS
from tests.workflows.variants import ReorderedOrderWorkflow

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "workflows" / "histories"


async def gate(workflows: list[type], **kwargs: object) -> replay_gate.GateResult:
    options: dict[str, object] = {"sample": 0, "fixtures": [FIXTURES], "client": None}
    options.update(kwargs)
    return await replay_gate.run_gate(
        workflows=workflows,
        converter=pydantic_data_converter,
        **options,  # type: ignore[arg-type]
    )


async def test_the_current_code_passes_the_recorded_fixtures() -> None:
    result = await gate(WORKFLOWS)

    assert result.passed, result.failures
    assert result.replayed == len(list(FIXTURES.glob("*.json")))


async def test_an_incompatible_change_fails_the_recorded_fixtures() -> None:
    result = await gate([ReorderedOrderWorkflow])

    assert not result.passed
    assert any("nondetermin" in why.lower() for _, why in result.failures)


def test_the_command_exits_zero_on_the_fixtures(capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_gate.main(["--offline", "--fixtures", str(FIXTURES)]) == 0
    assert "replay gate passed" in capsys.readouterr().out


def test_by_default_the_command_replays_every_flow_s_histories(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the pipeline runs it: from the project root, with no --fixtures
    monkeypatch.chdir(PROJECT)
    recorded = [path for d in replay_gate.DEFAULT_FIXTURES for path in d.glob("*.json")]

    assert replay_gate.main(["--offline"]) == 0

    assert any("returns" in path.parts for path in recorded)
    assert any("delivery" in path.parts for path in recorded)
    assert f"{len(recorded)} histories replayed" in capsys.readouterr().out


@pytest.mark.e2e
async def test_histories_sampled_from_the_namespace_gate_the_change(
    dev_env: WorkflowEnvironment,
    order_client: OrderClient,
    clients: AwsClients,
    settings: Settings,
    order_id: str,
    sku: str,
) -> None:
    # Given an order that ran in the namespace
    clients.ledger(settings).set_stock(sku, 5)
    body = order_body(order_id, lines={sku: 1})
    assert await order_client.submit(parse_order(json.dumps(body))) == Submission.STARTED
    handle = dev_env.client.get_workflow_handle(
        order_workflow_id(order_id), result_type=OrderStatus
    )
    assert (await handle.result()).state == OrderState.COMPLETED

    # When the gate samples the namespace, Then the current code passes, the variant fails
    # (this deployment's task queue only: other tests' workflows, e.g. encrypted ones, are not
    # this deployment's to decode)
    passed = await gate(
        WORKFLOWS, fixtures=[], sample=20, client=dev_env.client, task_queue=order_client.task_queue
    )
    failed = await gate(
        [ReorderedOrderWorkflow],
        fixtures=[],
        sample=20,
        client=dev_env.client,
        task_queue=order_client.task_queue,
    )

    assert passed.passed, passed.failures
    assert passed.replayed >= 1
    assert order_workflow_id(order_id) in {workflow_id for workflow_id, _ in failed.failures}
