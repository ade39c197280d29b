"""`python -m oms.local.worker`: the product's worker with the demo's simulated step latency
(`OMS_STEP_LATENCY_MS`) wrapped around it. What `oms dev` and `oms demo` start."""

from __future__ import annotations

import asyncio
import os
import sys

from oms.config import load_settings
from oms.local.latency import LatencyInterceptor
from oms.logs import configure_logging
from oms.worker import run_worker


def main() -> int:
    settings = load_settings()
    configure_logging(settings, service="oms-worker")
    latency = settings.step_latency_ms / 1000
    interceptors = [LatencyInterceptor(latency)] if latency > 0 else []
    asyncio.run(run_worker(settings, interceptors=interceptors))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # temporalio can abort at interpreter exit (sdk-python#300)
