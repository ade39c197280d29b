"""The time budget (`make bench` must finish in minutes on a 2-core machine) and the tuning
recommendation drawn from the sweep."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from oms.config import Settings

RESERVE = 15.0  # seconds kept for the last histories, the report and stopping the stack
# How much longer an order takes per doubling of the size: the dev server slows a little as
# its database fills. The product's figure was 0.4 while moto's SQS and DynamoDB transactions
# cost more per order the bigger the backlog; with the emulator's patches it is the dev
# server's growth plus a margin.
GROWTH = {"ceiling": 0.06, "product": 0.1}
MIN_PHASE = 30.0
SIGNIFICANT = 0.10  # a sweep point must beat the default by this much to change it


@dataclass
class Budget:
    """Plans sizes from what the first run measured: seconds per order (the measured window
    plus the reading of histories afterwards) and the seconds a phase costs whatever its size
    (stack start and stop, warm-up)."""

    total: float
    started: float
    notes: list[str] = field(default_factory=list)
    learned_size: int = 0
    fixed: dict[str, float] = field(default_factory=dict)  # ceiling/product: seconds per phase
    per_order: dict[str, float] = field(default_factory=dict)  # ceiling/product: seconds

    def remaining(self) -> float:
        return self.total - (time.monotonic() - self.started)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def learn(self, run: dict[str, Any]) -> None:
        if self.learned_size:
            return  # the first (smallest) run is the yardstick
        self.learned_size = run["size"]
        for phase in ("ceiling", "product"):
            figures = run[phase]
            variable = figures["driver_seconds"] + figures["post_seconds"]
            self.per_order[phase] = variable / run["size"]
            self.fixed[phase] = max(0.0, figures["wall_seconds"] - variable)

    def _growth(self, size: int, phase: str) -> float:
        if size <= self.learned_size:
            return 1.0
        return 1.0 + GROWTH[phase] * math.log2(size / self.learned_size)

    def estimate(self, size: int, phases: tuple[str, ...] = ("ceiling", "product")) -> float:
        if not self.per_order:
            return 0.0
        return sum(self.fixed[p] + size * self.per_order[p] * self._growth(size, p) for p in phases)

    def fit(self, size: int, *, keep: float = 0.0) -> int:
        """`size`, or the largest size in hundreds (at least the first run's) whose ceiling
        and product runs fit in what is left, keeping `keep` seconds for what comes after."""
        if not self.per_order:
            return size
        spare = self.remaining() - RESERVE - keep
        candidates = [size, *range(size // 100 * 100, self.learned_size, -100)]
        for candidate in candidates:
            if self.estimate(candidate) <= spare:
                return candidate
        return self.learned_size

    def fits(self, seconds: float) -> bool:
        return seconds <= self.remaining() - RESERVE

    def phase_deadline(self) -> float:
        """Until when (monotonic) a phase may wait for its workflows: a safety net, not the
        plan; a phase that hits it reports `timed_out` and what did complete."""
        return time.monotonic() + max(MIN_PHASE, self.remaining() - RESERVE)


def recommend(sweep: list[dict[str, Any]], base: Settings) -> dict[str, Any] | None:
    """The best `max_concurrent_activities` of the sweep, kept only if clearly better."""
    if not sweep:
        return None
    workers = min(entry["workers"] for entry in sweep)
    points = {
        entry["max_concurrent_activities"]: entry["product"]["throughput"]
        for entry in sweep
        if entry["workers"] == workers
    }
    default = points.get(base.max_concurrent_activities)
    best = max(points, key=lambda slots: points[slots])
    advice: dict[str, Any] = {"throughput_by_max_concurrent_activities": points}
    if default and points[best] > default * (1 + SIGNIFICANT):
        advice["max_concurrent_activities"] = best
        advice["reason"] = (
            f"{points[best]:.1f}/s vs {default:.1f}/s"
            f" at the default {base.max_concurrent_activities}"
        )
    else:
        advice["max_concurrent_activities"] = base.max_concurrent_activities
        advice["reason"] = f"no point beats the default by more than {SIGNIFICANT:.0%}; keep it"
    scaled = [entry for entry in sweep if entry["workers"] > workers]
    if scaled and default:
        more = scaled[0]
        advice["scale_out"] = {
            "workers": more["workers"],
            "throughput": more["product"]["throughput"],
            "vs_one_worker": round(more["product"]["throughput"] / default, 2),
        }
    return advice
