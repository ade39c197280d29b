"""Stopping `oms dev` as a person does: Ctrl-C at three moments, a second Ctrl-C, and closing
the terminal (SIGHUP). Every process gone within 5 s, no activity failed by the stop, exit
128 + the signal, no `.oms/local.env` left behind."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from .dev_process import STOPPED_WITHIN, DevProcess

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param("AWS emulator (moto) ready", id="during-start-up"),
        pytest.param("submitted 6 orders", id="during-the-demo"),
        pytest.param("Ctrl-C stops everything", id="at-the-ready-panel"),
    ],
)
def test_ctrl_c_stops_everything_within_5s_and_fails_no_activity(
    tmp_path: Path, moment: str
) -> None:
    dev = DevProcess(tmp_path)
    dev.wait_for(moment)

    code, seconds, alive = dev.stop_with(signal.SIGINT)

    output = "".join(dev.lines)
    assert code == 130, output[-3000:]
    assert not alive, f"still running after {seconds:.1f}s: {alive}"
    assert seconds < STOPPED_WITHIN
    assert dev.failed_activities() == []
    assert "Traceback" not in output
    assert not (tmp_path / ".oms" / "local.env").exists()


def test_a_second_ctrl_c_does_not_wait(tmp_path: Path) -> None:
    dev = DevProcess(tmp_path)
    dev.wait_for("submitted 6 orders")

    code, seconds, alive = dev.stop_with(signal.SIGINT, signal.SIGINT)

    assert code == 130
    assert not alive
    assert seconds < 2.0
    assert "killed every process" in "".join(dev.lines)


def test_closing_the_terminal_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    dev = DevProcess(tmp_path, "--no-demo")
    dev.wait_for("Ctrl-C stops everything")
    assert (tmp_path / ".oms" / "local.env").exists()

    code, _, alive = dev.stop_with(signal.SIGHUP)

    assert code == 128 + signal.SIGHUP
    assert not alive
    assert not (tmp_path / ".oms" / "local.env").exists()
