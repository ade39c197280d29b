"""`oms subscription create|status|pause|resume|skip|change|cancel|list` (CONTRACT.md §6e, §9)
in process against the session's dev server and moto, the product's worker in process.

Each subscription starts a day from now, so no cycle is charged while the commands run: these
tests are about the commands, their answers and their one-line refusals (the cycles themselves
run in tests/subscriptions and tests/e2e/test_subscriptions.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from oms.config import Settings
from oms.local.demo_orders import order_body
from oms.polling import poll_until
from oms.resources import QueueUrls

from .conftest import error_line, invoke

pytestmark = pytest.mark.e2e


async def run(*args: str) -> Result:
    return await asyncio.to_thread(invoke, *args)


@pytest.fixture
def env(
    cli: pytest.MonkeyPatch, dev_address: str, order_worker: str, queues: QueueUrls
) -> pytest.MonkeyPatch:
    cli.setenv("TEMPORAL_ADDRESS", dev_address)
    cli.setenv("TEMPORAL_NAMESPACE", "default")
    cli.setenv("OMS_TASK_QUEUE", order_worker)
    cli.setenv("OMS_SUBSCRIPTION_MIN_INTERVAL", "PT10S")
    return cli


def body(sid: str, **changes: Any) -> dict[str, Any]:
    message = order_body("unused", lines={"MUG-RED": 1, "TEE-L-BLK": 2})
    del message["orderId"], message["totalAmount"]
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return {**message, "type": "subscription", "subscriptionId": sid, "interval": "P1M",
            "startAt": start, **changes}  # fmt: skip


def write(tmp_path: Path, message: dict[str, Any], name: str = "sub.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(message))
    return str(path)


def refused(result: Result, why: str) -> None:
    """A refused update: exit 1 and one line on stdout, `rejected: <why>`."""
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [f"rejected: {why}"], result.stdout


def accepted(result: Result) -> str:
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert line.startswith("accepted: "), line
    return line.removeprefix("accepted: ")


async def test_a_subscription_through_every_command_and_its_refusals(
    env: pytest.MonkeyPatch, tmp_path: Path, settings: Settings
) -> None:
    sid = f"CLI-{uuid.uuid4().hex[:8]}"
    file = write(tmp_path, body(sid))

    created = await run("subscription", "create", file)
    assert (created.exit_code, created.stdout.strip()) == (0, f"subscription {sid}: started")
    again = await run("subscription", "create", file, "--json")
    assert json.loads(again.stdout) == {"subscriptionId": sid, "created": "duplicate"}
    other = await run("subscription", "create", write(tmp_path, body(sid, cycles=2), "b.json"))
    assert other.exit_code == 1
    assert error_line(other) == f"error: subscription {sid} exists with other content; the " \
        "first is kept"  # fmt: skip

    status = await run("subscription", "status", sid, "--json")
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)  # one JSON document, nothing else
    assert {k: shown[k] for k in ("subscriptionId", "state", "cycle", "orders", "dunning")} == {
        "subscriptionId": sid, "state": "ACTIVE", "cycle": 1, "orders": [], "dunning": None,
    }  # fmt: skip
    assert shown["nextChargeAt"] is not None
    assert [(i["sku"], i["quantity"]) for i in shown["items"]] == [("MUG-RED", 1), ("TEE-L-BLK", 2)]

    assert accepted(await run("subscription", "skip", sid)) == "cycle 1 will be skipped"
    refused(await run("subscription", "skip", sid), "the next cycle is already skipped")

    assert accepted(await run("subscription", "change", sid, "--item", "TEE-L-BLK=0")) == (
        "from the next cycle: 0 x TEE-L-BLK"
    )
    refused(
        await run("subscription", "change", sid, "--item", "NOPE=1"),
        "NOPE is not a line of this subscription (no price for it)",
    )
    refused(
        await run("subscription", "change", sid, "--item", "MUG-RED=0"),
        "at least one line must stay (cancel the subscription instead)",
    )

    assert accepted(await run("subscription", "pause", sid, "--reason", "holiday")) == "holiday"
    refused(await run("subscription", "pause", sid), "subscription is already paused")
    assert accepted(await run("subscription", "resume", sid)) == "resumed"
    refused(await run("subscription", "resume", sid), "subscription is not paused")

    listed = await until_listed(sid, "ACTIVE")
    assert listed["workflowStatus"] == "RUNNING"

    assert accepted(await run("subscription", "cancel", sid, "--reason", "moved away")) == (
        "moved away"
    )
    final = json.loads((await run("subscription", "status", sid, "--json")).stdout)
    assert (final["state"], final["reason"], final["nextChargeAt"]) == (
        "CANCELLED",
        "moved away",
        None,
    )
    assert [(i["sku"], i["quantity"]) for i in final["items"]] == [("MUG-RED", 1)]  # the change
    refused(await run("subscription", "cancel", sid, "--reason", "twice"),
            "subscription is already CANCELLED")  # fmt: skip
    refused(await run("subscription", "resume", sid), "subscription is already CANCELLED")
    assert (await until_listed(sid, "CANCELLED"))["workflowStatus"] == "COMPLETED"

    text = await run("subscription", "status", sid)
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].startswith(f"{sid}: CANCELLED · cycle 1 · every P1M")


async def until_listed(sid: str, state: str) -> dict[str, Any]:
    """`list --status S --json` until the subscription shows (visibility lags a little)."""

    async def listed() -> list[dict[str, Any]]:
        result = await run("subscription", "list", "--status", state, "--json", "--limit", "1000")
        assert result.exit_code == 0, result.output
        return [row for row in json.loads(result.stdout) if row["subscriptionId"] == sid]

    found: Callable[[list[dict[str, Any]]], bool] = bool
    [row] = await poll_until(listed, found, within=30, what=f"{sid} listed {state}")
    assert row["state"] == state
    return row


@pytest.mark.parametrize(
    ("args", "code", "why"),
    [
        (("status", "CLI-NOBODY"), 1, "error: no subscription CLI-NOBODY"),
        (("pause", "CLI-NOBODY"), 1, "error: no subscription CLI-NOBODY"),
        (("change", "CLI-NOBODY"), 2, "error: name at least one --item SKU=QTY"),
        (("list", "--status", "ASLEEP"), 2,
         "error: --status must be one of ACTIVE, PAUSED, SUSPENDED, CANCELLED, FINISHED"),
    ],
)  # fmt: skip
async def test_unknown_ids_and_bad_input_are_one_line_errors(
    env: pytest.MonkeyPatch, args: tuple[str, ...], code: int, why: str
) -> None:
    result = await run("subscription", *args)
    assert result.exit_code == code
    assert error_line(result) == why


async def test_an_invalid_or_too_frequent_subscription_file_is_refused_with_exit_2(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    invalid = await run("subscription", "create", write(tmp_path, body("CLI-BAD", interval="P1Y2")))
    assert invalid.exit_code == 2
    assert "interval" in error_line(invalid)
    frequent = await run(
        "subscription", "create", write(tmp_path, body("CLI-FAST", interval="PT5S"))
    )
    assert frequent.exit_code == 2
    assert "shorter than this deployment's minimum" in error_line(frequent)
    missing = await run("subscription", "create", str(tmp_path / "absent.json"))
    assert missing.exit_code == 2
    assert error_line(missing).startswith(f"error: {tmp_path / 'absent.json'}: ")
