"""Issue 20, step 9: the starter's cold-start budget, measured as BENCHMARKS.md says (a fresh
`python -c`, `import oms.intake.starter` then `configure()`) against the test's moto server.

Wall time on 2 shared cores is noisy; the CPU time of the fresh process (`process_time`,
import + configure) is not inflated by another process's load, only by cache and frequency
effects, and the best of RUNS is what the code costs when the machine lets it run. The
deterministic guard is the set of modules the cold start loads: a new heavy dependency (or an
old one creeping back) shows up there first.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

from oms.config import Settings
from oms.resources import QueueUrls
from tests.conftest import process_env

PROBE = """
import json, os, sys, time
c0, t0 = time.process_time(), time.perf_counter()
import oms.intake.starter as starter
c1, t1 = time.process_time(), time.perf_counter()
starter.configure()
c2, t2 = time.process_time(), time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "configure_ms": (t2 - t1) * 1000,
                  "cpu_ms": (c2 - c0) * 1000, "modules": len(sys.modules),
                  "loaded": sorted(sys.modules)}), flush=True)
os._exit(0)
"""
RUNS = 5
# Measured here (x86_64, venv with bytecode, 2 cores shared with other jobs, December 2026),
# best of 5 fresh processes: 652 ms CPU before issue 20c, about 700-760 ms on the same machine
# under load after it (the SES client no longer built: -12 ms); 1019 modules. The goal on
# Lambda is 500 ms (issue 20, finding 14) and is NOT reached: what is left is temporalio's
# client and workflow modules (the clients' typed call sites import the workflow classes),
# botocore, pydantic and the models (docs/DEPLOY.md, "The starter asset"). The enforced budget
# holds what is reached, with room for a loaded machine, so a regression of ~20 % fails.
CPU_BUDGET_MS = 900
MODULE_BUDGET = 1050
# Loaded by the cold start but never used by it: the test fails if one comes back.
NEVER = ("moto", "aws_cdk", "typer", "rich", "pytest", "oms.cli", "oms.local")


def probe(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def test_the_starter_cold_start_stays_within_its_budget(
    moto_endpoint: str, queues: QueueUrls, settings: Settings
) -> None:
    # A lazy client: configure() does not connect, so no Temporal server is needed.
    env = process_env(moto_endpoint, "localhost:7233", settings)
    runs = [probe(env) for _ in range(RUNS)]
    best = {
        key: min(float(run[key]) for run in runs)
        for key in ("import_ms", "configure_ms", "cpu_ms", "modules")
    }
    median = statistics.median(float(run["cpu_ms"]) for run in runs)
    sys.stderr.write(f"starter cold start (best of {RUNS}): {best}; median CPU {median:.0f} ms\n")

    loaded: set[str] = set(runs[0]["loaded"])
    assert not {m for m in loaded if m.split(".")[0] in NEVER or m.startswith(NEVER)}
    assert best["modules"] <= MODULE_BUDGET
    assert best["cpu_ms"] <= CPU_BUDGET_MS
