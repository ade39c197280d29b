"""The `python -m ...` entry points on typer keep argparse's contract: `main(argv)` returns the
exit code (0 help, 2 a usage error) instead of exiting, and keep their options."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

ENTRY_POINTS = (
    "oms.health",
    "oms.ops.rollout",
    "oms.ops.replay_gate",
    "infra.smoke",
    "infra.starter_asset",
    "infra.replay_task",
    "bench.__main__",
    "bench.plot",
)


def main_of(module: str) -> Callable[[list[str]], int]:
    main: Callable[[list[str]], int] = importlib.import_module(module).main
    return main


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_help_is_0_and_a_usage_error_is_2(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_of(module)(["--help"]) == 0
    assert main_of(module)(["--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_health_keeps_its_options_and_exit_codes(tmp_path: Path) -> None:
    health = main_of("oms.health")
    beat = tmp_path / "beat"
    assert health(["--file", str(beat)]) == 1  # no heartbeat
    beat.write_text('{"at": 0}')
    assert health(["--file", str(beat), "--max-age", "30"]) == 1  # stale
    assert health(["--file", str(beat), "--max-age", "1e12"]) == 0


def test_the_replay_gate_keeps_its_options() -> None:
    # The plan job's exact command line (deploy.yml), against the recorded fixtures.
    assert main_of("oms.ops.replay_gate")(["--offline", "--sample", "5"]) == 0


def test_rollout_keeps_both_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    rollout = main_of("oms.ops.rollout")
    assert rollout(["live-builds", "--help"]) == 0
    assert "--existing" in capsys.readouterr().out
    assert rollout(["wait", "--help"]) == 0
    assert "--within" in capsys.readouterr().out
    assert rollout(["wait"]) == 2  # the build id is required
