"""Fixtures of the CLI tests: commands run in-process through typer's CliRunner, with the
environment pointed at the session's moto server and Temporal dev server."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import oms.cli  # noqa: F401 - registers every command on the app
from oms.aws import AwsClients
from oms.cli import context
from oms.cli.app import app
from oms.config import Settings
from oms.resources import QueueUrls, ensure_queues

# `oms` as a child process, running whichever `oms` package this interpreter imports (the
# PYTHONPATH is inherited through the environment).
OMS = [sys.executable, "-c", "from oms.cli import main; main()"]


def invoke(*args: str, stdin: str | None = None) -> Result:
    """Run one command as `main()` would, minus `os._exit`: exit code, stdout, stderr."""
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)


def error_line(result: Result) -> str:
    """The command's error: exactly one line on stderr, starting `error:`."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> Iterator[pytest.MonkeyPatch]:
    """Fresh settings and clients for each test; set variables on the returned monkeypatch
    before invoking (the CLI reads them once per process, like every entry point)."""
    clear = (context.settings, context.aws, context.ledger)
    for cached in clear:
        cached.cache_clear()
    yield monkeypatch
    for cached in clear:
        cached.cache_clear()


@pytest.fixture
def own_queues(cli: pytest.MonkeyPatch, clients: AwsClients, settings: Settings) -> QueueUrls:
    """An intake queue and DLQ of this test's own, so counting messages means something."""
    tag = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"intake_queue": f"cli-in-{tag}", "dlq": f"cli-dlq-{tag}"})
    urls = ensure_queues(clients.sqs, own)
    cli.setenv("OMS_INTAKE_QUEUE", own.intake_queue)
    cli.setenv("OMS_DLQ", own.dlq)
    return urls


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message on a queue (received and deleted), with attributes."""
    messages: list[dict[str, Any]] = []
    empty = 0
    while empty < 2:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        empty = 0 if batch else empty + 1
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
    return messages
