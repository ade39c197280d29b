"""Child processes of the local stack: started with their output in log files, tied to the
parent's life (they get SIGTERM if the parent dies, even by SIGKILL), stopped in order."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux)
    # Not glibc: the stack still stops its children on a normal exit.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)
    command: list[str] = field(default_factory=list, repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Children:
    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self.running: list[Child] = []
        self._started: list[Child] = []  # every child of this run, for kill_all

    def start(self, name: str, command: list[str], env: dict[str, str]) -> Child:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / f"{name}.log"
        log = log_path.open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own binaries, no shell
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches only `oms dev`, which drains
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, safe between fork/exec
        )
        child = Child(name, process, log_path, log, command, env)
        self.running.append(child)
        self._started.append(child)
        return child

    def restart(self, child: Child) -> Child:
        """The same command, name, environment and log file, in a new process."""
        self.stop(child, timeout=5.0)
        return self.start(child.name, child.command, child.env)

    def stop(self, child: Child, *, timeout: float = 30.0, kill: bool = False) -> None:
        # Out of `running` first: the supervisor (and the demo's watchdog) read a child that
        # exits while being stopped as stopped, not as crashed.
        if child in self.running:
            self.running.remove(child)
        if child.alive():
            child.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                child.process.wait(timeout)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)
        child._log.close()

    def stop_group(self, group: list[Child], *, timeout: float) -> None:
        """SIGTERM the group at once (they stop in parallel), wait up to `timeout`, then
        SIGKILL whoever is left."""
        group = [child for child in group if child in self.running]
        for child in group:
            self.running.remove(child)
            if child.alive():
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in group:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)
            child._log.close()

    def kill_all(self) -> None:
        """SIGKILL every child still alive, at once (a second Ctrl-C). Safe in a signal handler:
        it only sends signals; whoever is waiting for them sees them exit."""
        for child in list(self._started):
            with contextlib.suppress(OSError):
                if child.alive():
                    child.process.kill()
