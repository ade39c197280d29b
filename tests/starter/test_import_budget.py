"""Issue 20, step 9: the starter's cold-start budget, measured as BENCHMARKS.md says (a fresh
`python -c`, `import oms.intake.starter` then `configure()`, median of 3) against the test's
moto server.

Time on 2 shared cores is noisy, so the enforced budget is the CPU time of import + configure
with room for a busy machine; the deterministic guard is the set of modules the cold start
loads: a new heavy dependency (or an old one creeping back) shows up there first.
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
RUNS = 3
# Measured here (x86_64, venv, 2 shared cores, December 2026): import 577 ms + configure 91 ms
# wall, 652 ms CPU, 998 modules (median of 3). The goal on Lambda (arm64, precompiled asset)
# is 0.5 s (issue 20, finding 14).
CPU_BUDGET_MS = 2000
MODULE_BUDGET = 1100
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
    median = {
        key: statistics.median(float(run[key]) for run in runs)
        for key in ("import_ms", "configure_ms", "cpu_ms", "modules")
    }
    sys.stderr.write(f"starter cold start (median of {RUNS}): {median}\n")

    loaded: set[str] = set(runs[0]["loaded"])
    assert not {m for m in loaded if m.split(".")[0] in NEVER or m.startswith(NEVER)}
    assert median["modules"] <= MODULE_BUDGET
    assert median["cpu_ms"] <= CPU_BUDGET_MS
