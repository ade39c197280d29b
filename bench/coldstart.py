"""Starter cold start: what a new Lambda execution environment pays before its first record.

In a fresh interpreter (`python -c`), against the running dev server and moto: the time to
`import oms.intake.starter`, to `configure()` it (settings, logging, boto3 clients, the DLQ URL, the
lazy Temporal client) and to the first Temporal call (which opens the connection). Each step is
timed as wall time and as the process's CPU time (`process_time`): on 2 shared cores the wall
time also counts waiting for a core, the CPU time is what the code costs (the goal, 0.5 s for
import + configure, is judged on it; tests/starter/test_import_budget.py uses the same measure).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

PROBE = """
import json, os, time
c0, t0 = time.process_time(), time.perf_counter()
import oms.intake.starter as starter
c1, t1 = time.process_time(), time.perf_counter()
runtime = starter.configure()
c2, t2 = time.process_time(), time.perf_counter()
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
client = runtime.intake.orders.temporal
runtime.loop.run_sync(client.workflow_service.get_system_info(GetSystemInfoRequest()), 30)
c3, t3 = time.process_time(), time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "configure_ms": (t2 - t1) * 1000,
                  "first_call_ms": (t3 - t2) * 1000, "import_cpu_ms": (c1 - c0) * 1000,
                  "configure_cpu_ms": (c2 - c1) * 1000, "first_call_cpu_ms": (c3 - c2) * 1000,
                  "import_configure_cpu_ms": (c2 - c0) * 1000}), flush=True)
os._exit(0)
"""
RUNS = 3


def _once(env: dict[str, str]) -> dict[str, float]:
    began = time.perf_counter()
    done = subprocess.run(  # noqa: PLW1510 - the return code is checked below
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    wall = (time.perf_counter() - began) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"cold-start probe failed:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_ms"] = wall  # interpreter start-up included
    return figures


def measure_cold_start(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Median of a few fresh processes (the first can be slower: a cold page cache)."""
    env = {**os.environ, **(env or {})}
    runs = [_once(env) for _ in range(RUNS)]
    keys = (
        "import_ms",
        "configure_ms",
        "first_call_ms",
        "process_ms",
        "import_cpu_ms",
        "configure_cpu_ms",
        "first_call_cpu_ms",
        "import_configure_cpu_ms",  # per run, then the median: not a sum of two medians
    )
    median = {key: round(statistics.median(run[key] for run in runs), 1) for key in keys}
    median["init_ms"] = round(
        median["import_ms"] + median["configure_ms"] + median["first_call_ms"], 1
    )
    return {"runs": RUNS, "median": median, "first": {k: round(runs[0][k], 1) for k in keys}}
