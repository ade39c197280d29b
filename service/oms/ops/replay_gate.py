"""The deploy's replay gate: the new code replays recent histories before anything changes.

`python -m oms.ops.replay_gate [--sample N] [--fixtures DIR ...]` replays, with the workflow
classes of this checkout (`oms.worker.WORKFLOWS`), the N most recent executions of each
workflow type in the namespace (fetched with Temporal's environment configuration and the
product's data converter, so encrypted payloads need kms:Decrypt on the payload key) plus the
recorded fixture histories. Any replay failure (a non-determinism above all) exits 1: the deploy
stops before `cdk deploy`. Pinned orders never meet the new code, but the gate still guards
Auto-upgrade workflows (returns), rollbacks and unversioned use.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer
from temporalio.workflow import _Definition

from oms.config import load_settings
from oms.entrypoint import run_app
from oms.temporal_client import connect, data_converter
from oms.worker import WORKFLOWS  # the code being deployed

DEFAULT_SAMPLE = 100
# Every flow's recorded histories (relative to the project root, where the pipeline runs).
DEFAULT_FIXTURES = (
    Path("tests/workflows/histories"),
    Path("tests/returns/histories"),
    Path("tests/delivery/histories"),
    Path("tests/subscriptions/histories"),
    Path("tests/backorders/histories"),  # orders that waited BACKORDERED, purchase orders
)


@dataclass(frozen=True)
class GateResult:
    replayed: int
    failures: list[tuple[str, str]]  # (workflow id or fixture, why)

    @property
    def passed(self) -> bool:
        return not self.failures


def workflow_names(workflows: Iterable[type]) -> list[str]:
    names = []
    for cls in workflows:
        name = _Definition.must_from_class(cls).name
        if name:
            names.append(name)
    return names


async def recent_histories(
    client: Client, names: Sequence[str], *, sample: int, task_queue: str | None = None
) -> AsyncIterator[WorkflowHistory]:
    """The `sample` most recent executions of each workflow type (open or closed), of this
    deployment's task queue when given (a namespace may hold other deployments' workflows)."""
    for name in names:
        query = f"WorkflowType = '{name}'"
        if task_queue:
            query += f" AND TaskQueue = '{task_queue}'"
        executions = client.list_workflows(query, limit=sample)
        async for history in executions.map_histories():
            yield history


def fixture_histories(directories: Iterable[Path]) -> list[WorkflowHistory]:
    """Recorded histories (`*.json`, as `temporal workflow show --output json` writes them)."""
    histories = []
    for directory in directories:
        for path in sorted(directory.glob("*.json")):
            histories.append(WorkflowHistory.from_json(f"fixture:{path.stem}", path.read_text()))
    return histories


async def _aiter(
    histories: AsyncIterator[WorkflowHistory] | Iterable[WorkflowHistory],
) -> AsyncIterator[WorkflowHistory]:
    if isinstance(histories, AsyncIterator):
        async for history in histories:
            yield history
    else:
        for history in histories:
            yield history


async def replay(
    histories: AsyncIterator[WorkflowHistory] | Iterable[WorkflowHistory],
    *,
    workflows: Sequence[type],
    converter: DataConverter,
) -> GateResult:
    """Replay every history with `workflows`; collect the failures instead of stopping."""
    replayer = Replayer(workflows=list(workflows), data_converter=converter)
    replayed, failures = 0, []
    async with replayer.workflow_replay_iterator(_aiter(histories)) as results:
        async for result in results:
            replayed += 1
            if result.replay_failure is not None:
                failures.append((result.history.workflow_id, str(result.replay_failure)))
    return GateResult(replayed=replayed, failures=failures)


async def run_gate(
    *,
    workflows: Sequence[type],
    sample: int,
    fixtures: Sequence[Path],
    client: Client | None,
    converter: DataConverter,
    task_queue: str | None = None,
) -> GateResult:
    names = workflow_names(workflows)
    recorded = fixture_histories(fixtures)
    local = await replay(recorded, workflows=workflows, converter=converter)
    if client is None or sample == 0:
        return local
    remote = await replay(
        recent_histories(client, names, sample=sample, task_queue=task_queue),
        workflows=workflows,
        converter=converter,
    )
    return GateResult(
        replayed=local.replayed + remote.replayed, failures=local.failures + remote.failures
    )


app = typer.Typer(add_completion=False)


@app.command(help=__doc__)
def gate_command(
    sample: Annotated[
        int, typer.Option(help="recent executions per workflow type")
    ] = DEFAULT_SAMPLE,
    fixtures: Annotated[
        list[Path] | None,
        typer.Option(
            help="history directory, repeatable (default: "
            + ", ".join(map(str, DEFAULT_FIXTURES))
            + ")"
        ),
    ] = None,
    offline: Annotated[bool, typer.Option(help="fixtures only (no Temporal connection)")] = False,
) -> int:
    settings = load_settings()

    async def gate() -> GateResult:
        client = None if offline else await connect(settings)
        return await run_gate(
            workflows=WORKFLOWS,
            sample=sample,
            fixtures=fixtures or list(DEFAULT_FIXTURES),
            client=client,
            converter=data_converter(settings),
            task_queue=settings.task_queue,
        )

    result = asyncio.run(gate())
    for workflow_id, why in result.failures:
        sys.stderr.write(f"REPLAY FAILED {workflow_id}: {why}\n")
    verdict = "passed" if result.passed else f"FAILED ({len(result.failures)} histories)"
    sys.stdout.write(f"replay gate {verdict}: {result.replayed} histories replayed\n")
    return 0 if result.passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m oms.ops.replay_gate")


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # temporalio can abort at interpreter exit (sdk-python#300)
