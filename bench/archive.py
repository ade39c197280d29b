"""The history of bench results: one small JSON per commit measured, in `bench/results/history/`
(`<date>-<commit>.json`; `-dirty` when the work tree had uncommitted changes to the code).

`python -m bench` writes one at the end of every complete run (`--no-history` for quick checks);
measuring the same commit again on the same day replaces its entry. An entry is a digest of
`latest.json`: the commit, the machine, the settings, the other load, and per size the figures
the plot and the goals read. `python -m bench.plot` draws the history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.goals import as_json, checks, size_figures

HISTORY_DIR = Path(__file__).parent / "results" / "history"
SCHEMA = 1


def _phase(figures: dict[str, Any]) -> dict[str, Any]:
    latency = figures.get("latency_ms", {})
    history = figures.get("history") or {}
    digest = {
        "completed": figures.get("completed"),
        "throughput": figures.get("throughput"),
        "p50_ms": latency.get("p50"),
        "p95_ms": latency.get("p95"),
        "cpu_ms_per_order": figures.get("cpu_ms_per_order", {}),
        "other_load": figures.get("machine", {}).get("other_processes_share"),
        "timed_out": figures.get("timed_out"),
    }
    if history:
        digest["actions"] = history.get("actions")
        digest["events"] = history.get("events")
    return digest


def _single(single: dict[str, Any] | None) -> dict[str, Any] | None:
    if not single:
        return None
    digest: dict[str, Any] = {"count": single.get("count")}
    for what in ("ceiling", "product"):
        latency = single.get(what, {}).get("latency_ms", {})
        digest[what] = {"p50_ms": latency.get("p50"), "p95_ms": latency.get("p95")}
    return digest


def _other_load(runs: list[dict[str, Any]]) -> float | None:
    shares = [
        run[what].get("machine", {}).get("other_processes_share")
        for run in runs
        for what in ("ceiling", "product")
    ]
    measured = [share for share in shares if share is not None]
    return max(measured) if measured else None


def digest(results: dict[str, Any], *, source: str = "python -m bench") -> dict[str, Any]:
    """What the history keeps of one run."""
    runs = results.get("runs", [])
    machine = results.get("machine", {})
    cold = (results.get("cold_start") or {}).get("median")
    return {
        "schema": SCHEMA,
        "commit": machine.get("commit"),
        "dirty": machine.get("dirty"),
        "generated_at": results.get("generated_at"),
        "source": source,
        "command": results.get("command"),
        "complete": results.get("complete"),
        "total_seconds": results.get("total_seconds"),
        "machine": machine,
        "settings": results.get("settings", {}),
        "other_load_max": _other_load(runs),
        "sizes": [
            {
                "size": run["size"],
                "requested_size": run.get("requested_size", run["size"]),
                "ratio": run.get("ratio"),
                "cpu_ratio": run.get("cpu_ratio"),
                **size_figures(run),
                "ceiling": _phase(run.get("ceiling", {})),
                "product": _phase(run.get("product", {})),
            }
            for run in runs
        ],
        "single_order": _single(results.get("single_order")),
        "cold_start": cold,
        "goals": as_json(checks(results)),
        "notes": results.get("notes", []),
    }


def entry_name(entry: dict[str, Any]) -> str:
    date = (entry.get("generated_at") or "unknown-date")[:10]
    suffix = "-dirty" if entry.get("dirty") else ""
    return f"{date}-{entry.get('commit') or 'unknown'}{suffix}.json"


def write_history(
    results: dict[str, Any], directory: Path = HISTORY_DIR, *, source: str = "python -m bench"
) -> Path:
    entry = digest(results, source=source)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / entry_name(entry)
    path.write_text(json.dumps(entry, indent=2, default=str) + "\n")
    return path


def load_history(directory: Path = HISTORY_DIR) -> list[dict[str, Any]]:
    """Every entry, oldest first (by when it was measured)."""
    entries = [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]
    return sorted(entries, key=lambda entry: entry.get("generated_at") or "")
