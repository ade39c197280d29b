"""`oms` as a real process through `main()`: exit codes and one-line errors, as in a shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.main import get_command

import oms.cli
from oms.aws import AwsClients
from oms.cli.app import app
from oms.config import Settings
from oms.resources import ensure_queues

from ..conftest import process_env
from .conftest import OMS, drain, invoke


def oms(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    # cwd: a directory without .oms/local.env, so only `env` points the CLI anywhere.
    return subprocess.run(
        [*OMS, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_file_exits_2_with_one_line_and_sends_nothing(
    moto_endpoint: str, clients: AwsClients, settings: Settings, tmp_path: Path, order_id: str
) -> None:
    own = settings.model_copy(update={"intake_queue": f"main-{order_id}", "dlq": f"dlq-{order_id}"})
    urls = ensure_queues(clients.sqs, own)
    env = process_env(moto_endpoint, "127.0.0.1:1", own)

    done = oms("submit", "no-such-orders.jsonl", env=env, cwd=tmp_path)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: cannot read no-such-orders.jsonl: no such file")
    assert drain(clients.sqs, urls.intake) == []


def test_an_unknown_order_exits_1_with_one_line(
    moto_endpoint: str, dev_address: str, settings: Settings, tmp_path: Path, order_id: str
) -> None:
    env = process_env(moto_endpoint, dev_address, settings)

    done = oms("status", order_id, "--json", env=env, cwd=tmp_path)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"error: no order {order_id}\n"


def test_temporal_unreachable_is_one_line_suggesting_oms_dev(
    moto_endpoint: str, settings: Settings, tmp_path: Path
) -> None:
    env = process_env(moto_endpoint, "127.0.0.1:1", settings)

    done = oms("list", env=env, cwd=tmp_path)

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "`oms dev`" in done.stderr


def subcommands() -> list[list[str]]:
    paths: list[list[str]] = []
    root = get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        paths.extend([name, sub] for sub in getattr(command, "commands", {}))
    return paths


@pytest.mark.parametrize("path", subcommands(), ids=" ".join)
def test_every_subcommand_has_help(path: list[str]) -> None:
    result = invoke(*path, "--help")

    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_the_operator_commands_are_all_there() -> None:
    names = {" ".join(path) for path in subcommands()}
    assert {
        "submit",
        "status",
        "cancel",
        "list",
        "inventory set",
        "inventory list",
        "dlq list",
        "dlq redrive",
        "worker",
        "intake",
        "resolve",
        "return open",
        "return receive",
        "return status",
        "return cancel",
    } <= names
