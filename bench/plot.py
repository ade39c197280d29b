"""`python -m bench.plot`: draw the bench history (bench/results/history/) as an SVG, by default
`BENCHMARKS.svg` beside BENCHMARKS.md. `python -m bench` redraws it after writing its entry.

Three panels, product against ceiling: throughput vs size, CPU per order vs size (all
processes, and the worker against the bare worker), and per commit the two ratios with a goal
(product ÷ ceiling throughput ≥ 0.8, worker CPU ÷ bare ≤ 1.3). The latest entry is drawn in
colour, older ones faded. The SVG carries no date or random ids, so an unchanged history
redraws to the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import matplotlib as mpl

mpl.use("Agg")  # no display: a file only

import matplotlib.pyplot as plt
import typer
from matplotlib.axes import Axes
from matplotlib.ticker import NullLocator

from bench.archive import HISTORY_DIR, load_history
from bench.goals import RATIO_GOAL, WORKER_CPU_GOAL
from oms.entrypoint import run_app

DEFAULT_OUTPUT = Path(__file__).parent.parent / "BENCHMARKS.svg"
PRODUCT, CEILING = "tab:blue", "tab:orange"


def _label(entry: dict[str, Any]) -> str:
    commit = entry.get("commit") or "?"
    return f"{commit}{'+' if entry.get('dirty') else ''} {(entry.get('generated_at') or '')[:10]}"


def _series(entry: dict[str, Any], *path: str) -> tuple[list[int], list[float]]:
    """(sizes, values) of one figure across an entry's sizes, skipping missing values."""
    xs, ys = [], []
    for size in entry.get("sizes", []):
        value: Any = size
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            xs.append(size["size"])
            ys.append(float(value))
    return xs, ys


def _by_size(
    axes: Axes, history: list[dict[str, Any]], lines: list[tuple[str, tuple[str, ...], str, str]]
) -> None:
    for n, entry in enumerate(history):
        latest = n == len(history) - 1
        for name, path, colour, style in lines:
            xs, ys = _series(entry, *path)
            if not xs:
                continue
            axes.plot(
                xs,
                ys,
                linestyle=style,
                marker="o",
                color=colour,
                alpha=1.0 if latest else 0.25,
                linewidth=2 if latest else 1,
                label=f"{name} ({_label(entry)})" if latest else None,
            )
    axes.set_xscale("log")
    sizes = sorted({size["size"] for entry in history for size in entry.get("sizes", [])})
    axes.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xlabel("orders in the burst (log scale)")
    axes.grid(visible=True, alpha=0.3)
    axes.legend(fontsize=7, loc="best")


def _by_commit(axes: Axes, history: list[dict[str, Any]]) -> None:
    sizes = sorted({size["size"] for entry in history for size in entry.get("sizes", [])})
    positions = range(len(history))
    for size, marker in zip(sizes, "os^Dv<>", strict=False):
        for key, colour, name in (
            ("ratio", PRODUCT, "throughput product ÷ ceiling"),
            ("worker_cpu_ratio", CEILING, "worker CPU ÷ bare"),
        ):
            points = [
                (n, figures[key])
                for n, entry in zip(positions, history, strict=True)
                for figures in entry.get("sizes", [])
                if figures["size"] == size and figures.get(key) is not None
            ]
            if points:
                axes.plot(
                    *zip(*points, strict=True),
                    marker=marker,
                    color=colour,
                    label=f"{name}, {size:,}",
                )
    axes.axhline(RATIO_GOAL, color=PRODUCT, linestyle=":", linewidth=1)
    axes.axhline(WORKER_CPU_GOAL, color=CEILING, linestyle=":", linewidth=1)
    axes.set_xticks(list(positions), [_label(entry) for entry in history], rotation=30, ha="right")
    axes.set_ylabel(f"ratio (goals: ≥ {RATIO_GOAL:g} and ≤ {WORKER_CPU_GOAL:g}, dotted)")
    axes.set_ylim(bottom=0)
    axes.set_xlim(-0.5, len(history) - 0.5)
    axes.grid(visible=True, alpha=0.3)
    axes.legend(fontsize=7, loc="best")


def render(history_dir: Path = HISTORY_DIR, output: Path = DEFAULT_OUTPUT) -> Path:
    history = [entry for entry in load_history(history_dir) if entry.get("sizes")]
    if not history:
        raise ValueError(f"no history entry with figures in {history_dir}")
    plt.rcParams["svg.hashsalt"] = "oms-bench"  # stable ids: the same history, the same file
    plt.rcParams["svg.fonttype"] = "none"  # text stays text (small, searchable)
    figure, (throughput, cpu, trend) = plt.subplots(1, 3, figsize=(15, 4.6))
    _by_size(
        throughput,
        history,
        [
            ("product", ("product", "throughput"), PRODUCT, "-"),
            ("ceiling", ("ceiling", "throughput"), CEILING, "--"),
        ],
    )
    throughput.set_title("Throughput vs size")
    throughput.set_ylabel("orders/s")
    throughput.set_ylim(bottom=0)
    _by_size(
        cpu,
        history,
        [
            ("product, all", ("product", "cpu_ms_per_order", "total"), PRODUCT, "-"),
            ("ceiling, all", ("ceiling", "cpu_ms_per_order", "total"), CEILING, "--"),
            ("product worker", ("product", "cpu_ms_per_order", "worker"), PRODUCT, ":"),
            ("bare worker", ("ceiling", "cpu_ms_per_order", "bare-worker"), CEILING, "-."),
        ],
    )
    cpu.set_title("CPU per order vs size")
    cpu.set_ylabel("CPU ms per order")
    cpu.set_ylim(bottom=0)
    _by_commit(trend, history)
    trend.set_title("Ratios by commit measured")
    figure.suptitle(f"make bench history ({len(history)} entries; latest {_label(history[-1])})")
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".svg":
        figure.savefig(output, format="svg", metadata={"Date": None})
    else:  # e.g. .png, for a look without a browser
        figure.savefig(output, dpi=90)
    plt.close(figure)
    return output


app = typer.Typer(add_completion=False)


@app.command(help=__doc__)
def plot(
    history: Annotated[Path, typer.Option(help="the history directory")] = HISTORY_DIR,
    output: Annotated[Path, typer.Option(help="the SVG to write")] = DEFAULT_OUTPUT,
) -> int:
    print(render(history, output))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m bench.plot")


if __name__ == "__main__":
    raise SystemExit(main())
