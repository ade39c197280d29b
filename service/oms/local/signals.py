"""How `oms dev` and `oms demo` stop: Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal
closed) all stop the stack the same way, in order; a second one while it stops kills what is
left at once instead of waiting.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop signal, raised where the main thread is (a KeyboardInterrupt, so asyncio lets it
    through at once). Exit code 128 + the signal's number: 130 for Ctrl-C, as shells do."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


@dataclass
class StopSignals:
    force: Callable[[], None]
    received: list[int] = field(default_factory=list)
    stopping: bool = False

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        first = not self.received
        self.received.append(signum)
        if first and not self.stopping:
            raise Interrupted(signum)
        self.force()  # a second signal, or one while already stopping: no more waiting

    @property
    def exit_code(self) -> int | None:
        return 128 + self.received[0] if self.received else None


@contextmanager
def stop_signals(force: Callable[[], None]) -> Iterator[StopSignals]:
    """Install the handlers for the block (main thread only); restore the previous ones."""
    state = StopSignals(force)
    previous = {sig: signal.signal(sig, state.handle) for sig in STOP_SIGNALS}
    try:
        yield state
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
