"""`python -m bench [--sizes 200,2000] [--no-sweep] [--budget SECONDS]`; see BENCHMARKS.md."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.harness import STATE_DIR
from bench.plan import Budget, recommend
from bench.report import machine, print_report, write_json
from bench.runs import ceiling_phase, product_phase
from bench.stats import cpu_ratios
from oms.config import Settings, load_settings

RESULTS = Path(__file__).parent / "results" / "latest.json"
TUNING = (
    "max_concurrent_activities",
    "max_concurrent_workflow_tasks",
    "max_cached_workflows",
    "workflow_task_pollers",
    "activity_task_pollers",
)
# Wide enough for the tables when the output is a file or a pipe (CI logs).
console = Console(width=None if sys.stdout.isatty() else 140)


def _ints(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("positive integers separated by commas, e.g. 200,2000")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add = parser.add_argument
    add("--sizes", type=_ints, default=[200, 2000], help="orders per run (default 200,2000)")
    add("--workers", type=int, default=1, help="worker processes (default 1)")
    add(
        "--sweep",
        type=_ints,
        default=[],
        help="max_concurrent_activities to try, e.g. 16,32,64 (default: no sweep, so that 2,000"
        " orders fit the budget)",
    )
    add("--sweep-size", type=int, default=100, help="orders per sweep point (default 100)")
    add("--sweep-workers", type=_ints, default=[], help="also try these worker counts")
    add("--no-sweep", action="store_true", help="skip the tuning sweep")
    add(
        "--budget",
        type=float,
        default=480.0,
        help="seconds for everything; sizes after the first shrink to fit (default 480)",
    )
    add("--output", type=Path, default=RESULTS, help="the JSON file (default %(default)s)")
    return parser.parse_args(argv)


def run_size(
    settings: Settings, size: int, workers: int, budget: Budget, *, first: bool
) -> dict[str, Any]:
    ceiling = ceiling_phase(
        settings, size=size, workers=workers, deadline=budget.phase_deadline(), log=console.log
    )
    product = product_phase(
        settings,
        size=size,
        workers=workers,
        deadline=budget.phase_deadline(),
        log=console.log,
        cold_start=first,
    )
    ratio = product["throughput"] / ceiling["throughput"] if ceiling.get("throughput") else None
    run = {
        "size": size,
        "cpu_ratio": cpu_ratios(ceiling, product),
        "ratio": round(ratio, 3) if ratio else None,
        "ceiling": ceiling,
        "product": product,
    }
    console.log(
        f"size {size}: ceiling {ceiling['throughput']}/s, product {product['throughput']}/s,"
        f" ratio {run['ratio']}"
    )
    return run


def sweep_points(
    base: Settings, values: list[int], workers: int, more_workers: list[int]
) -> list[tuple[int, int]]:
    points = [(workers, value) for value in values]
    return points + [(n, base.max_concurrent_activities) for n in more_workers if n != workers]


def run_sweep(
    base: Settings, points: list[tuple[int, int]], size: int, budget: Budget
) -> Iterator[dict[str, Any]]:
    for workers, slots in points:
        if not budget.fits(budget.estimate(size, ("product",))):
            budget.note(
                f"sweep: workers={workers} max_concurrent_activities={slots} skipped (budget)"
            )
            continue
        settings = base.model_copy(update={"max_concurrent_activities": slots})
        product = product_phase(
            settings, size=size, workers=workers, deadline=budget.phase_deadline(), log=console.log
        )
        console.log(f"sweep: workers={workers} slots={slots}: {product['throughput']}/s")
        yield {"workers": workers, "max_concurrent_activities": slots, "product": product}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    budget = Budget(total=args.budget, started=time.monotonic())
    shutil.rmtree(STATE_DIR / "logs", ignore_errors=True)  # each child's log, of this run only
    # The user's OMS_* tuning is the baseline; the benchmark always runs with zero step latency.
    base = load_settings().model_copy(update={"step_latency_ms": 0})
    points = (
        [] if args.no_sweep else sweep_points(base, args.sweep, args.workers, args.sweep_workers)
    )
    runs: list[dict[str, Any]] = []
    sweep: list[dict[str, Any]] = []
    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "complete": False,
        "machine": machine(),
        "settings": {name: getattr(base, name) for name in TUNING}
        | {"step_latency_ms": 0, "workers": args.workers},
        "runs": runs,
        "cold_start": None,
        "sweep": sweep,
        "recommendation": None,
        "notes": budget.notes,
    }

    def save() -> None:  # after every measurement: a failure later keeps what was measured
        results["total_seconds"] = round(time.monotonic() - budget.started, 1)
        write_json(results, args.output)

    for size in args.sizes:
        sweep_cost = len(points) * budget.estimate(args.sweep_size, ("product",))
        fitted = budget.fit(size, keep=sweep_cost)
        if fitted < size:
            budget.note(
                f"size {size} reduced to {fitted} to finish within --budget {args.budget:.0f}s"
            )
        run = run_size(base, fitted, args.workers, budget, first=not runs)
        run["requested_size"] = size
        results["cold_start"] = results["cold_start"] or run["product"].pop("cold_start", None)
        budget.learn(run)
        runs.append(run)
        save()
    for entry in run_sweep(base, points, args.sweep_size, budget):
        sweep.append(entry)
        save()
    results["recommendation"] = recommend(sweep, base)
    results["complete"] = True
    save()
    print_report(results, console)
    console.print(f"total {results['total_seconds']:.0f}s; results in {args.output}")
    return 0


if __name__ == "__main__":
    code = main()
    os._exit(code)  # sdk-python#300: never let interpreter teardown turn success into a crash
