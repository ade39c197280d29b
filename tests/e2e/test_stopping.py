"""Stopping `oms dev` as a person does: Ctrl-C at three moments, a second Ctrl-C, and closing
the terminal (SIGHUP). Every process gone within 5 s, no activity failed by the stop, exit
128 + the signal, no `.oms/local.env` left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from oms.local.ports import free_port

pytestmark = pytest.mark.e2e
STOPPED_WITHIN = 5.0
# A shell's background job inherits SIGINT ignored: reset it, as a terminal's process has it.
AS_FROM_A_TERMINAL = [
    sys.executable, "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, '-m', 'oms', *sys.argv[1:]])",
]  # fmt: skip
# The demo's flaky card fails its first two authorizations on purpose.
FAILED_ACTIVITY = re.compile(
    r"Completing activity as failed .*'workflow_id': '(?P<workflow>[^']+)'"
)


class DevProcess:
    """`oms dev` started as from a terminal: SIGINT not ignored (a background shell would)."""

    def __init__(self, cwd: Path, *args: str) -> None:
        ports = [str(free_port()) for _ in range(4)]
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TEMPORAL_", "OMS_"))
        }
        self.process = subprocess.Popen(
            [*AS_FROM_A_TERMINAL, "dev", "--temporal-port", ports[0], "--ui-port",
             ports[1], "--aws-port", ports[2], "--codec-port", ports[3], *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.cwd = cwd
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, within: float = 120) -> None:
        deadline = time.monotonic() + within
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, "".join(self.lines[-30:])
            assert time.monotonic() < deadline, f"no {text!r} in {within}s: {self.lines[-30:]}"
            time.sleep(0.05)

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop_with(self, *signals: signal.Signals) -> tuple[int, float, list[psutil.Process]]:
        """Send the signals (0.2 s apart); exit code, seconds until every process was gone,
        the processes still there after that."""
        children = self.descendants()
        began = time.monotonic()
        for sig in signals:
            self.process.send_signal(sig)
            time.sleep(0.2)
        code = self.process.wait(30)
        _, alive = psutil.wait_procs(
            children, timeout=max(0.1, STOPPED_WITHIN - (time.monotonic() - began))
        )
        return code, time.monotonic() - began, alive

    def failed_activities(self) -> list[str]:
        found = []
        for log in (self.cwd / ".oms" / "logs").glob("worker-*.log"):
            for match in FAILED_ACTIVITY.finditer(log.read_text(errors="replace")):
                if not match["workflow"].endswith("-FLAKY-PAYMENT"):
                    found.append(match["workflow"])
        return found


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
