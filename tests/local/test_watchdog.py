"""The demo's watchdog: why the stack cannot progress, in one line."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from oms.aws import AwsClients
from oms.local.children import Children
from oms.local.watchdog import stack_problem


def test_a_child_that_exited_is_named_with_its_code_and_last_warning(tmp_path: Path) -> None:
    children = Children(tmp_path)
    script = (
        "import sys; print('WARNING oms.intake.records: order X: not started (boom)'); sys.exit(3)"
    )
    child = children.start("intake", [sys.executable, "-c", script], {})
    child.process.wait(10)
    stack = SimpleNamespace(children=children, queues=None)

    problem = stack_problem(stack)  # type: ignore[arg-type]

    assert problem is not None
    assert problem.startswith("intake exited with code 3")
    assert "not started (boom)" in problem


def test_a_dead_letter_is_reported_with_its_reason(tmp_path: Path, clients: AwsClients) -> None:
    dlq = clients.sqs.create_queue(QueueName=f"watchdog-{tmp_path.name[-8:]}-dlq")["QueueUrl"]
    stack = SimpleNamespace(children=Children(tmp_path), queues=SimpleNamespace(dlq=dlq))
    assert stack_problem(stack) is None  # type: ignore[arg-type]

    clients.sqs.send_message(QueueUrl=dlq, MessageBody="{}", MessageAttributes={
        "oms.reason": {"DataType": "String", "StringValue": "Temporal UNAVAILABLE: refused"},
    })  # fmt: skip

    problem = stack_problem(stack)  # type: ignore[arg-type]
    assert problem == "a demo order was dead-lettered: Temporal UNAVAILABLE: refused"
