"""`python -m bench.profile`: where the product's CPU goes, per process, while a burst of orders
runs on a fresh local stack (zero step latency), sampled by py-spy (a sampling profiler that
attaches to a running process: the code measured is the code users run, unmodified).

Only samples holding the GIL count (CPU spent in Python, not threads waiting on a socket or
a queue). Every Python process of the product is sampled: `oms worker`, `oms intake` and the
moto server (`aws`). The dev server is Go and is not sampled; its CPU per order is in the
bench's tables.
Samples are folded by the package of the frame that was running (self time) and by function,
and written to `bench/results/profile.json`; the summary printed is what BENCHMARKS.md shows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import BenchStack
from bench.product import measure_product
from oms.config import load_settings

PROCESSES = ("worker-1", "intake", "aws")
RATE = 200  # samples per second per process
OUTPUT = Path("bench/results/profile.json")
# Inclusive shares worth naming: a sample counts for each of these its stack passes through.
PATHS = {
    "workflow sandbox: a new run's module import": "workflow_sandbox/_runner.py:148",
    "workflow activations (sandboxed code)": "_handle_activation",
    "AWS calls (botocore)": "botocore/client.py",
    "payload codec (AES-GCM + KMS keys)": "/oms/codec/",
    "data converter (pydantic)": "temporalio/contrib/pydantic",
    "logging": "/logging/__init__.py",
}
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def package_of(path: str) -> str:
    """`temporalio`, `oms.orders`, `stdlib:json` ... for a frame's file."""
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/service/oms/" in path:
        parts = path.split("/service/oms/", 1)[1].split("/")
        return "oms." + (parts[0].removesuffix(".py") if len(parts) > 1 else parts[0][:-3])
    if "/lib/python3" in path:
        rest = path.split("/lib/python3", 1)[1].split("/", 2)
        module = rest[1] if len(rest) > 1 else path
        return "stdlib:" + module.removesuffix(".py")
    return path or "(native)"


def fold(raw: str) -> dict[str, Any]:
    """py-spy's raw (collapsed) stacks → self samples by package and by function."""
    packages: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        for label, marker in PATHS.items():
            if marker in stack:
                paths[label] += samples
        leaf = stack.rsplit(";", 1)[-1]
        matched = FRAME.match(leaf)
        path = matched["file"] if matched else ""
        name = matched["function"] if matched else leaf
        package = package_of(path)
        packages[package] += samples
        functions[f"{package}: {name}"] += samples
        total += samples

    def share(counter: Counter[str], top: int) -> list[dict[str, Any]]:
        return [
            {"name": name, "samples": n, "percent": round(100 * n / total, 1)}
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "packages": share(packages, 15),
        "functions": share(functions, 15),
        "paths": {label: round(100 * paths[label] / total, 1) for label in PATHS if total},
    }


def _py_spy() -> str:
    return str(Path(sys.executable).parent / "py-spy")


async def _run(bench: BenchStack, size: int, deadline: float) -> dict[str, Any]:
    client = await bench.stack.connect()
    return await measure_product(
        bench, client, size=size, run_id=uuid.uuid4().hex[:6].upper(), deadline=deadline
    )


def profile(size: int, out_dir: Path) -> dict[str, Any]:
    settings = load_settings().model_copy(update={"step_latency_ms": 0})
    with BenchStack(settings, workers=1) as bench:
        pids = bench.pids()
        spies = {}
        for name in PROCESSES:
            raw = out_dir / f"{name}.txt"
            command = [_py_spy(), "record", "--pid", str(pids[name]), "--rate", str(RATE),
                       "--format", "raw", "--nonblocking", "--full-filenames", "--gil",
                       "--output", str(raw)]  # fmt: skip
            spies[name] = (subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE), raw)  # fmt: skip
        time.sleep(1)  # py-spy attached before the first order
        figures = asyncio.run(_run(bench, size, time.monotonic() + 900))
        for spy, _ in spies.values():
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        missing = {}
        for name, (spy, raw) in spies.items():
            _, errors = spy.communicate(timeout=60)
            if not raw.exists():
                missing[name] = errors.decode().strip()[-300:] or f"py-spy exited {spy.returncode}"
    cpu = figures["cpu_ms_per_order"]
    return {
        "orders": size,
        "completed": figures.get("completed"),
        "throughput": figures.get("throughput"),
        "rate_hz": RATE,
        "cpu_ms_per_order": cpu,
        "processes": {
            name: fold(raw.read_text()) for name, (_, raw) in spies.items() if name not in missing
        },
        "not_sampled": missing,
    }


def render(result: dict[str, Any]) -> str:
    lines = [f"Profile of {result['orders']} orders (py-spy, {result['rate_hz']} Hz, self time)."]
    lines += [f"Not sampled: {name} ({why})" for name, why in result["not_sampled"].items()]
    for name, folded in result["processes"].items():
        lines += ["", f"**{name}** ({folded['samples']} samples)", "",
                  "| package | % | | function | % |", "|---|---:|---|---|---:|"]  # fmt: skip
        rows = zip(folded["packages"][:10], folded["functions"][:10], strict=False)
        for package, function in rows:
            lines.append(
                f"| {package['name']} | {package['percent']} | | "
                f"{function['name']} | {function['percent']} |"
            )
        named = [f"{label} {percent}%" for label, percent in folded["paths"].items() if percent]
        lines += ["", "Inclusive: " + "; ".join(named) + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--orders", type=int, default=200, help="orders in the burst")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    out_dir = args.output.parent / "profile-raw"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = profile(args.orders, out_dir)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
