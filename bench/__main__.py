"""`python -m bench [--sizes 200,2000] [--no-sweep] [--budget SECONDS]`; see BENCHMARKS.md."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bench.archive import HISTORY_DIR, write_history
from bench.goals import as_json, checks, size_figures
from bench.harness import STATE_DIR
from bench.plan import Budget, recommend
from bench.report import machine, print_report, write_json
from bench.runs import ceiling_phase, product_phase, single_order_phases
from bench.stats import cpu_ratios
from oms.config import Settings, load_settings
from oms.entrypoint import run_app

RESULTS = Path(__file__).parent / "results" / "latest.json"
PLOT = Path(__file__).parent.parent / "BENCHMARKS.svg"
SINGLE_ORDERS = 50
SINGLE_MIN_SECONDS = 60.0  # what the single-order phases need at least (two stacks, 55 orders)
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
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise typer.BadParameter("positive integers separated by commas, e.g. 200,2000")
    return values


@dataclass(frozen=True)
class BenchArgs:
    sizes: list[int]
    workers: int
    sweep: list[int]
    sweep_size: int
    sweep_workers: list[int]
    no_sweep: bool
    budget: float
    output: Path
    single: int = 50
    history: Path | None = HISTORY_DIR
    plot: Path | None = None


app = typer.Typer(add_completion=False)


@app.command(help=__doc__)
def bench(
    sizes: Annotated[str, typer.Option(help="orders per run (default 200,2000)")] = "200,2000",
    workers: Annotated[int, typer.Option(help="worker processes (default 1)")] = 1,
    sweep: Annotated[
        str,
        typer.Option(
            help="max_concurrent_activities to try, e.g. 16,32,64 (default: no sweep, so that "
            "2,000 orders fit the budget)"
        ),
    ] = "",
    sweep_size: Annotated[int, typer.Option(help="orders per sweep point (default 100)")] = 100,
    sweep_workers: Annotated[str, typer.Option(help="also try these worker counts")] = "",
    no_sweep: Annotated[bool, typer.Option("--no-sweep", help="skip the tuning sweep")] = False,
    budget: Annotated[
        float,
        typer.Option(help="seconds for everything; sizes after the first shrink to fit"),
    ] = 480.0,
    output: Annotated[Path, typer.Option(help="the JSON file")] = RESULTS,
    single: Annotated[
        int, typer.Option(help="orders one at a time for single-order latency (0: skip)")
    ] = SINGLE_ORDERS,
    history: Annotated[
        Path, typer.Option(help="directory of the history: one JSON per commit measured")
    ] = HISTORY_DIR,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="write no history entry and no plot")
    ] = False,
    plot: Annotated[
        Path, typer.Option(help="the plot redrawn from the history after the run")
    ] = PLOT,
) -> int:
    args = BenchArgs(
        sizes=_ints(sizes),
        workers=workers,
        sweep=_ints(sweep) if sweep else [],
        sweep_size=sweep_size,
        sweep_workers=_ints(sweep_workers) if sweep_workers else [],
        no_sweep=no_sweep,
        budget=budget,
        output=output,
        single=single,
        history=None if no_history else history,
        plot=None if no_history else plot,
    )
    return run_bench(args)


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
    run |= size_figures(run)
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


def run_bench(args: BenchArgs) -> int:
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
        "single_order": None,
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
        if len(runs) == 1 and args.single:  # measured before the later sizes are fitted
            results["single_order"] = run_single(base, args.single, budget)
            save()
    for entry in run_sweep(base, points, args.sweep_size, budget):
        sweep.append(entry)
        save()
    results["recommendation"] = recommend(sweep, base)
    results["goals"] = as_json(checks(results))
    results["complete"] = True
    save()
    print_report(results, console)
    console.print(f"total {results['total_seconds']:.0f}s; results in {args.output}")
    if args.history is not None:
        entry = write_history(results, args.history)
        console.print(f"history: {entry}")
        if args.plot is not None:
            draw(args.history, args.plot)
    return 0


def run_single(base: Settings, count: int, budget: Budget) -> dict[str, Any] | None:
    if not budget.fits(SINGLE_MIN_SECONDS):
        budget.note(f"single-order latency skipped (budget): {count} orders need about a minute")
        return None
    return single_order_phases(base, count=count, deadline=budget.phase_deadline(), log=console.log)


def draw(history: Path, output: Path) -> None:
    """The plot is a by-product: a missing matplotlib or a bad entry must not lose the run."""
    try:
        from bench.plot import render  # noqa: PLC0415 - matplotlib only when drawing

        render(history, output)
    except Exception as exc:  # reported: the run's figures are saved already
        console.print(f"[yellow]plot not drawn:[/] {exc!r}")
        return
    console.print(f"plot: {output}")


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m bench")


if __name__ == "__main__":
    code = main()
    os._exit(code)  # sdk-python#300: never let interpreter teardown turn success into a crash
