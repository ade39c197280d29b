"""The bench's pure parts (issue 26): the goal checks on a results dict, the history entry it
writes per commit, and the plot drawn from the history. No stack is started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import archive, goals


def phase(
    throughput: float,
    *,
    worker: str = "worker",
    worker_ms: float = 60.0,
    actions: int = 8,
    timed_out: bool = False,
) -> dict[str, Any]:
    return {
        "completed": 10,
        "throughput": throughput,
        "timed_out": timed_out,
        "latency_ms": {"p50": 1000.0, "p95": 1500.0},
        "cpu_ms_per_order": {worker: worker_ms, "intake": 5.5, "total": 150.0},
        "processes": {
            f"{worker}-1": {"peak_rss_mib": 160.0, "cpu_seconds": 1.0},
            "intake": {"peak_rss_mib": 110.0, "cpu_seconds": 0.1},
        },
        "machine": {"other_processes_share": 0.02},
        "history": {"actions": {"mean": actions, "min": actions, "max": actions}},
    }


def run(
    size: int, product: float, ceiling: float, *, requested: int | None = None
) -> dict[str, Any]:
    return {
        "size": size,
        "requested_size": requested or size,
        "ratio": round(product / ceiling, 3),
        "ceiling": phase(ceiling, worker="bare-worker", worker_ms=50.0),
        "product": phase(product, worker_ms=60.0),
    }


def results(*runs: dict[str, Any], cold_cpu: float | None = 450.0) -> dict[str, Any]:
    median = {"import_ms": 400.0, "configure_ms": 100.0}
    if cold_cpu is not None:
        median["import_configure_cpu_ms"] = cold_cpu
    return {
        "generated_at": "2026-12-06T10:00:00+00:00",
        "command": "python -m bench",
        "complete": True,
        "machine": {"commit": "abc1234", "dirty": False, "cores": 2},
        "settings": {"workers": 1},
        "runs": list(runs),
        "cold_start": {"median": median},
        "single_order": {
            "count": 50,
            "ceiling": {"latency_ms": {"p50": 200.0, "p95": 250.0}},
            "product": {"latency_ms": {"p50": 290.0, "p95": 400.0}},
        },
        "notes": [],
    }


def by_name(found: list[goals.Check]) -> dict[str, goals.Check]:
    return {check.name: check for check in found}


def test_every_goal_passes_when_the_figures_meet_it() -> None:
    found = goals.checks(results(run(200, 9.0, 10.0), run(2000, 8.5, 10.0)))

    assert [check.status for check in found] == ["PASS"] * 7
    assert by_name(found)["product 2,000 ÷ 200"].value.startswith("0.94")
    assert (
        by_name(found)["worker CPU/order ÷ bare worker's"].value == "1.20x at 200, 1.20x at 2,000"
    )


def test_each_goal_fails_with_its_measured_value() -> None:
    slow = run(200, 4.0, 10.0)
    slow["product"]["cpu_ms_per_order"]["worker"] = 80.0  # 1.6x the bare worker's 50
    slow["product"]["history"]["actions"] = {"mean": 8.5, "min": 8, "max": 9}
    figures = results(slow, run(2000, 3.0, 10.0), cold_cpu=620.0)
    figures["single_order"]["product"]["latency_ms"]["p50"] = 450.0

    found = by_name(goals.checks(figures))

    assert {name: check.status for name, check in found.items()} == dict.fromkeys(found, "FAIL")
    assert found["product ÷ ceiling at 200"].value == "0.40"
    assert found["worker CPU/order ÷ bare worker's"].value == "1.60x at 200, 1.20x at 2,000"
    assert found["starter import + configure() CPU"].value == "0.62 s CPU (0.50 s wall)"
    assert found["billable actions per happy order"].value == "8-9"
    assert found["single-order p50, product vs ceiling"].value == "450 ms vs 200 ms (+250)"


def test_a_size_not_run_or_shrunk_by_the_budget_is_not_judged() -> None:
    found = by_name(goals.checks(results(run(20, 9.0, 10.0), run(700, 9.0, 10.0, requested=2000))))

    assert found["product ÷ ceiling at 200"].status == "N/A"
    assert found["product ÷ ceiling at 200"].value == "200 not run"
    assert found["product ÷ ceiling at 2,000"].value == "ran 700 of 2,000 (budget)"
    assert found["product 2,000 ÷ 200"].status == "N/A"
    # The worker's CPU ratio holds at any size, so it is judged on what ran.
    assert found["worker CPU/order ÷ bare worker's"].status == "PASS"


def test_a_timed_out_size_is_not_judged() -> None:
    timed_out = run(200, 9.0, 10.0)
    timed_out["product"]["timed_out"] = True

    assert by_name(goals.checks(results(timed_out)))["product ÷ ceiling at 200"].status == "N/A"


def test_figures_not_measured_are_na_not_pass() -> None:
    figures = results(cold_cpu=None)
    figures["single_order"] = None

    assert {check.status for check in goals.checks(figures)} == {"N/A"}


def test_the_size_figures_are_read_from_the_phases() -> None:
    figures = goals.size_figures(run(200, 9.0, 10.0))

    assert figures == {
        "worker_cpu_ratio": 1.2,
        "intake_cpu_ms_per_order": 5.5,
        "worker_peak_rss_mib": 160.0,
        "intake_peak_rss_mib": 110.0,
        "bare_worker_peak_rss_mib": 160.0,
    }


def test_the_history_keeps_one_entry_per_commit_and_day(tmp_path: Path) -> None:
    first = results(run(200, 9.0, 10.0))
    again = results(run(200, 8.0, 10.0))
    dirty = results(run(200, 7.0, 10.0))
    dirty["machine"]["dirty"] = True

    paths = [archive.write_history(r, tmp_path) for r in (first, again, dirty)]

    assert [p.name for p in paths] == [
        "2026-12-06-abc1234.json",
        "2026-12-06-abc1234.json",  # measured again: replaced
        "2026-12-06-abc1234-dirty.json",
    ]
    entry = json.loads(paths[0].read_text())
    assert entry["commit"] == "abc1234"
    assert entry["machine"]["cores"] == 2
    assert entry["other_load_max"] == 0.02
    assert entry["sizes"][0]["product"]["throughput"] == 8.0
    assert entry["sizes"][0]["worker_cpu_ratio"] == 1.2
    assert entry["single_order"]["product"]["p50_ms"] == 290.0
    assert {goal["status"] for goal in entry["goals"]} >= {"PASS", "N/A"}
    assert sorted(e["dirty"] for e in archive.load_history(tmp_path)) == [False, True]


def test_the_committed_history_loads_and_says_where_each_entry_came_from() -> None:
    history = archive.load_history()

    assert history, "bench/results/history/ has at least the imported e11438d run"
    assert all(entry["commit"] and entry["source"] and entry["sizes"] for entry in history)


def test_the_plot_is_drawn_from_the_history_and_is_stable(tmp_path: Path) -> None:
    from bench import plot  # noqa: PLC0415 - matplotlib is imported here only

    history = tmp_path / "history"
    archive.write_history(results(run(200, 9.0, 10.0), run(2000, 8.5, 10.0)), history)
    later = results(run(200, 9.5, 10.0))
    later["generated_at"], later["machine"]["commit"] = "2026-12-07T10:00:00+00:00", "def5678"
    archive.write_history(later, history)

    svg = plot.render(history, tmp_path / "a.svg").read_text()
    again = plot.render(history, tmp_path / "b.svg").read_text()

    assert svg.startswith("<?xml")
    assert "def5678" in svg  # the latest entry's commit labels its lines
    assert "Throughput vs size" in svg
    assert svg == again


def test_an_empty_history_draws_nothing(tmp_path: Path) -> None:
    from bench import plot  # noqa: PLC0415

    with pytest.raises(ValueError, match="no history entry"):
        plot.render(tmp_path, tmp_path / "a.svg")
