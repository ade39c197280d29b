"""Why a demo cannot go on, found while it waits: a process of the stack that exited, or a demo
order in the dead-letter queue (every demo order is valid, so a dead letter means the intake
kept failing). The demo stops at once with that reason instead of waiting for its deadline."""

from __future__ import annotations

import re

from oms.aws import aws_clients
from oms.local.children import Child
from oms.local.errors import DemoStalledError
from oms.local.stack import LocalStack
from oms.ops.dlq import list_dead_letters

__all__ = ["DemoStalledError", "last_warning", "stack_problem"]

_WARNING = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b")


def last_warning(child: Child) -> str | None:
    """The last WARNING or ERROR line of a child's log (the intake logs why a record failed)."""
    lines = [line for line in child.log_tail(200).splitlines() if _WARNING.search(line)]
    return lines[-1].strip()[:300] if lines else None


def stack_problem(stack: LocalStack) -> str | None:
    """What keeps the demo from progressing, or None. Blocking (boto3): run it in a thread."""
    for child in list(stack.children.running):
        if not child.alive():
            return (
                f"{child.name} exited with code {child.process.returncode} "
                f"(log {child.log_path}): {last_warning(child) or child.log_tail(1)}"
            )
    if stack.queues is None:
        return None
    sqs = aws_clients().sqs
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.queues.dlq,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    if not sum(int(value) for value in attributes.values()):
        return None
    letters = list_dead_letters(sqs, stack.queues.dlq, limit=1)
    reason = letters[0].reason if letters else "a demo order is in the dead-letter queue"
    intake = next((c for c in stack.children.running if c.name == "intake"), None)
    said = last_warning(intake) if intake else None
    return f"a demo order was dead-lettered: {reason}" + (
        f"; the intake bridge's last warning: {said}" if said else ""
    )
