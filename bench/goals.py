"""Issue 26's goals, checked against one run's results: each a PASS, FAIL or N/A line with the
measured value. The bench reports; it does not fail on a goal (its exit code stays 0).

Pure functions of the results dict that `python -m bench` writes, so they are unit-tested on
hand-made results and can be re-run on any saved `latest.json` or history entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["PASS", "FAIL", "N/A"]

RATIO_GOAL = 0.8  # product ÷ ceiling throughput, at each of RATIO_SIZES
RATIO_SIZES = (200, 2000)
SCALING_GOAL = 0.9  # product throughput at 2,000 ÷ at 200
WORKER_CPU_GOAL = 1.3  # worker CPU per order ÷ the bare worker's
STARTER_CPU_GOAL_MS = 500.0  # starter import + configure(), CPU
ACTIONS_GOAL = 8  # billable actions per happy order
SINGLE_ORDER_MARGIN_MS = 100.0  # single-order p50: product ≤ ceiling + this


@dataclass(frozen=True)
class Check:
    name: str
    goal: str
    value: str
    status: Status
    done_when: bool = True  # one of the "Done when" lines (else a figure's own goal)


def _status(ok: bool) -> Status:
    return "PASS" if ok else "FAIL"


def worker_cpu_ratio(run: dict[str, Any]) -> float | None:
    """The product's worker CPU per order ÷ the bare worker's (worker-N and bare-worker-N
    summed over processes, so it holds for any worker count)."""
    product = run.get("product", {}).get("cpu_ms_per_order", {})
    ceiling = run.get("ceiling", {}).get("cpu_ms_per_order", {})
    worker, bare = product.get("worker"), ceiling.get("bare-worker")
    if worker is None or not bare:
        return None
    return round(float(worker) / float(bare), 2)


def _run_at(runs: list[dict[str, Any]], size: int) -> tuple[dict[str, Any] | None, str]:
    """The run asked for at `size`, and why it cannot be judged ('' when it can)."""
    for run in runs:
        if run.get("requested_size", run.get("size")) == size:
            if run.get("size") != size:
                return None, f"ran {run.get('size'):,} of {size:,} (budget)"
            if run.get("product", {}).get("timed_out") or run.get("ceiling", {}).get("timed_out"):
                return None, f"{size:,} timed out"
            return run, ""
    return None, f"{size:,} not run"


def _ratio_check(runs: list[dict[str, Any]], size: int) -> Check:
    name, goal = f"product ÷ ceiling at {size:,}", f"≥ {RATIO_GOAL:g}"
    run, why = _run_at(runs, size)
    if run is None or run.get("ratio") is None:
        return Check(name, goal, why or "no ratio", "N/A")
    return Check(name, goal, f"{run['ratio']:.2f}", _status(run["ratio"] >= RATIO_GOAL))


def _scaling_check(runs: list[dict[str, Any]]) -> Check:
    name, goal = "product 2,000 ÷ 200", f"≥ {SCALING_GOAL:g}"
    small, why_small = _run_at(runs, 200)
    large, why_large = _run_at(runs, 2000)
    if small is None or large is None:
        return Check(name, goal, why_small or why_large, "N/A")
    low, high = small["product"].get("throughput"), large["product"].get("throughput")
    if not low or high is None:
        return Check(name, goal, "no throughput", "N/A")
    scaling = high / low
    return Check(
        name, goal, f"{scaling:.2f} ({high:g}/s ÷ {low:g}/s)", _status(scaling >= SCALING_GOAL)
    )


def _worker_cpu_check(runs: list[dict[str, Any]]) -> Check:
    """Every size that ran must meet it; the value lists each size's ratio."""
    name, goal = "worker CPU/order ÷ bare worker's", f"≤ {WORKER_CPU_GOAL:g}x"
    ratios = [(run["size"], worker_cpu_ratio(run)) for run in runs]
    measured = [(size, ratio) for size, ratio in ratios if ratio is not None]
    if not measured:
        return Check(name, goal, "not measured", "N/A")
    value = ", ".join(f"{ratio:.2f}x at {size:,}" for size, ratio in measured)
    return Check(name, goal, value, _status(all(r <= WORKER_CPU_GOAL for _, r in measured)))


def _starter_check(cold: dict[str, Any] | None) -> Check:
    name, goal = "starter import + configure() CPU", f"≤ {STARTER_CPU_GOAL_MS / 1000:g} s"
    median = (cold or {}).get("median", {})
    cpu = median.get("import_configure_cpu_ms")
    if cpu is None:
        return Check(name, goal, "not measured", "N/A")
    wall = median.get("import_ms", 0.0) + median.get("configure_ms", 0.0)
    value = f"{cpu / 1000:.2f} s CPU ({wall / 1000:.2f} s wall)"
    return Check(name, goal, value, _status(cpu <= STARTER_CPU_GOAL_MS))


def _actions_check(runs: list[dict[str, Any]]) -> Check:
    name, goal = "billable actions per happy order", f"= {ACTIONS_GOAL}"
    sampled = [
        run["product"]["history"]["actions"] for run in runs if run["product"].get("history")
    ]
    if not sampled:
        return Check(name, goal, "not measured", "N/A")
    low, high = min(a["min"] for a in sampled), max(a["max"] for a in sampled)
    value = str(low) if low == high else f"{low}-{high}"
    return Check(name, goal, value, _status(low == high == ACTIONS_GOAL))


def single_order_check(single: dict[str, Any] | None) -> Check:
    name = "single-order p50, product vs ceiling"
    goal = f"≤ ceiling + {SINGLE_ORDER_MARGIN_MS:g} ms"
    figures = single or {}
    product = figures.get("product", {}).get("latency_ms", {}).get("p50")
    ceiling = figures.get("ceiling", {}).get("latency_ms", {}).get("p50")
    if product is None or ceiling is None:
        return Check(name, goal, "not measured", "N/A", done_when=False)
    value = f"{product:,.0f} ms vs {ceiling:,.0f} ms (+{product - ceiling:,.0f})"
    ok = product <= ceiling + SINGLE_ORDER_MARGIN_MS
    return Check(name, goal, value, _status(ok), done_when=False)


def checks(results: dict[str, Any]) -> list[Check]:
    """The issue's "Done when" lines, then the goals of the new figures."""
    runs = results.get("runs", [])
    return [
        *(_ratio_check(runs, size) for size in RATIO_SIZES),
        _scaling_check(runs),
        _worker_cpu_check(runs),
        _starter_check(results.get("cold_start")),
        _actions_check(runs),
        single_order_check(results.get("single_order")),
    ]


def as_json(found: list[Check]) -> list[dict[str, Any]]:
    return [asdict(check) for check in found]


def _peak(processes: dict[str, Any], role: str) -> float | None:
    peaks = [p["peak_rss_mib"] for name, p in processes.items() if name.startswith(role)]
    return max(peaks) if peaks else None


def size_figures(run: dict[str, Any]) -> dict[str, Any]:
    """The per-size figures issue 26 adds beside throughput, from what the phases measured:
    worker CPU ratio, the intake's CPU per order (its process's CPU ÷ orders) and peak RSS."""
    product = run.get("product", {})
    processes = product.get("processes", {})
    return {
        "worker_cpu_ratio": worker_cpu_ratio(run),
        "intake_cpu_ms_per_order": product.get("cpu_ms_per_order", {}).get("intake"),
        "worker_peak_rss_mib": _peak(processes, "worker"),
        "intake_peak_rss_mib": _peak(processes, "intake"),
        "bare_worker_peak_rss_mib": _peak(
            run.get("ceiling", {}).get("processes", {}), "bare-worker"
        ),
    }
