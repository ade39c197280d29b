"""`oms dev` run as a person runs it, for the end-to-end tests: a process with its output
read as it comes, its descendants, and the workers' logs."""

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

from oms.local.ports import free_port

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


def clean_env() -> dict[str, str]:
    """A user's shell: no endpoints or Temporal address inherited from the test session."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TEMPORAL_", "OMS_"))}


class DevProcess:
    """`oms dev` started as from a terminal: SIGINT not ignored (a background shell would)."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.ports = ports = [str(free_port()) for _ in range(4)]
        self.process = subprocess.Popen(
            [*AS_FROM_A_TERMINAL, "dev", "--temporal-port", ports[0], "--ui-port",
             ports[1], "--aws-port", ports[2], "--codec-port", ports[3], *args],
            cwd=cwd, env={**clean_env(), **(env or {})}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
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

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[1]}"

    def oms(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command typed in a second terminal in the same directory."""
        return subprocess.run(
            [sys.executable, "-m", "oms", *args], cwd=self.cwd, env=clean_env(),
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip

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
