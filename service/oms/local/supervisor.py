"""The supervisor of `oms dev` (and of the demo's private stack): a worker, the intake bridge or
the Temporal server that exits is started again and the restart is reported; the AWS emulator
keeps its state in memory, so when it exits the stack stops instead of running on empty tables.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from oms.local.errors import StackError
from oms.local.stack import LocalStack

EMULATOR = "aws"
# A child that keeps dying is not helped by restarts: give up after this many in the window.
MAX_RESTARTS = 5
WINDOW_SECONDS = 60.0


@dataclass
class Supervisor:
    stack: LocalStack
    on_restart: Callable[[str], None] = lambda _message: None
    restarts: dict[str, deque[float]] = field(default_factory=dict)

    def check(self) -> int:
        """Restart every child that has exited; return how many were restarted."""
        restarted = 0
        for child in list(self.stack.children.running):
            if child.alive():
                continue
            code = child.process.returncode
            if child.name == EMULATOR:
                raise StackError(
                    f"the AWS emulator (moto) exited with code {code}; it kept queues, tables "
                    "and stock in memory, so they are gone and the stack is stopping. Start it "
                    f"again with `oms dev`. Its log ({child.log_path}) ends:\n{child.log_tail()}"
                )
            recent = self.restarts.setdefault(child.name, deque())
            now = time.monotonic()
            while recent and now - recent[0] > WINDOW_SECONDS:
                recent.popleft()
            if len(recent) >= MAX_RESTARTS:
                raise StackError(
                    f"{child.name} exited {MAX_RESTARTS + 1} times in {WINDOW_SECONDS:.0f}s; "
                    f"stopping. Its log ({child.log_path}) ends:\n{child.log_tail()}"
                )
            recent.append(now)
            new = self.stack.restart(child)
            kept = " (its state is kept in the database file)" if child.name == "temporal" else ""
            self.on_restart(
                f"{child.name} exited with code {code}; restarted it as pid {new.pid}{kept}"
            )
            restarted += 1
        return restarted
