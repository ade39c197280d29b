"""Worker health (`oms.health`): the heartbeat the container health check reads, and SIGTERM
while the worker is still connecting."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from oms import metrics
from oms.config import Settings, SettingsError
from oms.health import (
    Liveness,
    clear_heartbeat,
    heartbeat_age,
    main,
    report_health,
    write_heartbeat,
)
from oms.reachability import report_reachability
from oms.temporal_client import connect_with_backoff


def test_a_fresh_heartbeat_is_healthy(tmp_path: Path) -> None:
    path = tmp_path / "health"
    write_heartbeat(path)

    assert main(["--file", str(path)]) == 0


@pytest.mark.parametrize("content", [None, "", "{not json", '{"at": "soon"}', "{}"])
def test_a_missing_or_unreadable_heartbeat_is_unhealthy(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "health"
    if content is not None:
        path.write_text(content)

    assert main(["--file", str(path)]) == 1


def test_a_stale_heartbeat_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "health"
    write_heartbeat(path, now=time.time() - 31)

    assert main(["--file", str(path), "--max-age", "30"]) == 1
    assert main(["--file", str(path), "--max-age", "60"]) == 0


def test_the_check_command_loads_no_sdk(tmp_path: Path) -> None:
    # The health check runs every 30 s in the container: it must stay cheap.
    path = tmp_path / "health"
    write_heartbeat(path)
    probe = (
        "import sys, runpy; sys.argv = ['oms.health', '--file', sys.argv[1]]\n"
        "try:\n    runpy.run_module('oms.health', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert 'temporalio' not in sys.modules, 'temporalio imported'\n"
        "    raise\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


class FakeWorker:
    def __init__(self) -> None:
        self.is_running = True


async def wait_until(condition: Any, deadline: float = 5.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "condition not reached before the deadline"
        await asyncio.sleep(0.01)


async def test_the_heartbeat_follows_the_process_and_its_poll_loop(tmp_path: Path) -> None:
    path = tmp_path / "health"
    liveness = Liveness()
    task = asyncio.create_task(report_health(liveness, path=path, interval=0.01))
    try:
        await wait_until(path.exists)  # still connecting (Temporal may be down): alive
        worker = FakeWorker()
        liveness.polling(worker)
        await wait_until(lambda: json.loads(path.read_text())["phase"] == "polling")
        worker.is_running = False
        await wait_until(lambda: not path.exists())  # the poll loop ended
        worker.is_running = True
        await wait_until(path.exists)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not path.exists()  # stopping clears it
    assert heartbeat_age(path) is None
    clear_heartbeat(path)  # idempotent


async def test_an_unreachable_temporal_is_a_metric_not_an_unhealthy_worker(
    tmp_path: Path,
) -> None:
    """The outage of issue 20: Temporal unreachable must not fail the health check (ECS would
    replace every task), but must show as TemporalReachable = 0 for the alarm."""
    path = tmp_path / "health"
    stream = io.StringIO()
    metrics.configure(enabled=True, stream=stream)
    reachable = True

    async def probe() -> bool:
        return reachable

    liveness = Liveness()
    liveness.polling(FakeWorker())
    tasks = [
        asyncio.create_task(report_health(liveness, path=path, interval=0.01)),
        asyncio.create_task(report_reachability(probe, task_queue="q", interval=0.01)),
    ]

    def gauges() -> list[float]:
        return [
            json.loads(line)["TemporalReachable"]
            for line in stream.getvalue().splitlines()
            if "TemporalReachable" in line
        ]

    try:
        await wait_until(lambda: 1 in gauges())
        reachable = False
        await wait_until(lambda: 0 in gauges())
        await asyncio.sleep(0.05)  # several heartbeats into the outage
        assert main(["--file", str(path)]) == 0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        metrics.configure(enabled=False)
    (document,) = [json.loads(line) for line in stream.getvalue().splitlines()][:1]
    assert document["TaskQueue"] == "q"


async def test_connect_retries_with_backoff_until_temporal_answers() -> None:
    attempts: list[float] = []
    client = object()

    async def attempt(_settings: Settings) -> Any:
        attempts.append(time.monotonic())
        if len(attempts) < 4:
            raise RuntimeError("Failed client connect: connection refused")
        return client

    connected = await connect_with_backoff(Settings(), first=0.01, most=0.05, attempt=attempt)

    assert connected is client
    assert len(attempts) == 4


async def test_a_wrong_setting_is_not_retried() -> None:
    attempts = 0

    async def attempt(_settings: Settings) -> Any:
        nonlocal attempts
        attempts += 1
        raise SettingsError("OMS_TEMPORAL_SECRET_ARN: the secret is not JSON")

    with pytest.raises(SettingsError):
        await connect_with_backoff(Settings(), first=0.01, attempt=attempt)
    assert attempts == 1


def caught_signals(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    return 0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_sigterm_while_connecting_stops_the_worker_at_once(tmp_path: Path) -> None:
    # Given: a "Temporal" that accepts TCP connections and never answers (connect hangs)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_NAMESPACE": "default",
            "AWS_REGION": "us-east-1",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "oms", "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            # When: SIGTERM as soon as the worker handles it (before any connection succeeds)
            deadline = time.monotonic() + 60
            while not caught_signals(worker.pid) & (1 << (signal.SIGTERM - 1)):
                assert worker.poll() is None, worker.communicate()[0]
                assert time.monotonic() < deadline, "the worker never installed a SIGTERM handler"
                time.sleep(0.05)
            worker.send_signal(signal.SIGTERM)

            # Then: it exits 0 promptly, not at the end of ECS's stop timeout
            output, _ = worker.communicate(timeout=15)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert worker.returncode == 0, output
    assert "stopped while connecting" in output
