"""`oms demo --scenario S` as a person runs it, and `oms dev`'s supervisor: each fault scenario
passes its own checks, and a dead child of `oms dev` is restarted (the emulator stops it)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from oms.local.demo import DemoReport
from oms.local.stack import free_port
from tests.e2e.test_local_stack import OMS, clean_env, descendants, wait_for

pytestmark = pytest.mark.e2e


def demo(tmp_path: Path, scenario: str) -> DemoReport:
    # The server restart must land while orders are in flight: give it the demo's own latency.
    latency = "300" if scenario == "server-restart" else "50"
    result = subprocess.run(
        [*OMS, "demo", "--scenario", scenario, "--json", "--step-latency-ms", latency],
        cwd=tmp_path, env=clean_env(), check=False, capture_output=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return DemoReport.model_validate(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("scenario", "proof"),
    [
        ("server-restart", "the server was restarted mid-flight"),
        ("email-outage", "SES refused"),
        ("drain", "0 failed activity attempts"),
        ("dynamodb-outage", "marked NEEDS_ATTENTION while DynamoDB was down"),
        ("returns", "return emails (instructions + refund)"),
        ("subscription", "dunning ran out: SUSPENDED after 3 retries"),
    ],
)
def test_fault_scenario_passes_its_checks(tmp_path: Path, scenario: str, proof: str) -> None:
    report = demo(tmp_path, scenario)
    [run] = report.scenarios
    assert run["name"] == scenario
    assert run["passed"]
    checks = {c["what"]: c["ok"] for c in run["checks"]}
    assert all(checks.values()), checks
    assert any(proof in what for what in checks)
    assert any("(0 lost)" in what for what in checks)
    assert all(o.emails == 1 and o.state == o.expected for o in report.orders)


@pytest.mark.parametrize(
    ("scenario", "proofs"),
    [
        ("edit", ["the edit was accepted", "= the new total", "an edit after capture is refused"]),
        ("review", ["both decisions were accepted", "the rejected order's hold was voided"]),
    ],
)
def test_money_scenario_passes_on_the_local_stack(
    tmp_path: Path, scenario: str, proofs: list[str]
) -> None:
    # Issue 24 on the local stack: an edit changes stock and the captured amount exactly, an
    # edit after capture is refused and changes nothing; a review is approved or rejected.
    report = demo(tmp_path, scenario)
    [run] = report.scenarios
    assert run["passed"], run["checks"]
    checks = {c["what"]: c["ok"] for c in run["checks"]}
    assert all(checks.values()), checks
    for proof in proofs:
        assert any(proof in what for what in checks), (proof, checks)
    assert all(o.state == o.expected for o in report.orders)


def _child(dev: subprocess.Popen[bytes], marker: str) -> psutil.Process | None:
    for pid in descendants(dev.pid):
        try:
            process = psutil.Process(pid)
            if marker in " ".join(process.cmdline()):
                return process
        except psutil.NoSuchProcess:
            continue
    return None


def _until(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_oms_dev_restarts_a_dead_worker_and_stops_when_the_emulator_dies(tmp_path: Path) -> None:
    ports = [str(free_port()) for _ in range(4)]
    dev = subprocess.Popen(
        [*OMS, "dev", "--no-demo", "--temporal-port", ports[0], "--ui-port", ports[1],
         "--aws-port", ports[2], "--codec-port", ports[3]],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(tmp_path / ".oms" / "local.env", dev)
        worker = _child(dev, "oms.local.worker")
        assert worker is not None
        worker.send_signal(signal.SIGKILL)
        _until(lambda: (w := _child(dev, "oms.local.worker")) is not None and w.pid != worker.pid,
               "a new worker")  # fmt: skip

        emulator = _child(dev, "oms.local.emulator")
        assert emulator is not None
        emulator.send_signal(signal.SIGKILL)
        _, stderr = dev.communicate(timeout=60)
        text = stderr.decode()
        assert dev.returncode == 1, text[-2000:]
        assert "worker-1 exited with code -9; restarted it" in text
        assert "the AWS emulator (moto) exited" in text
        assert not (tmp_path / ".oms" / "local.env").exists()
    finally:
        if dev.poll() is None:
            dev.send_signal(signal.SIGTERM)
            dev.wait(60)


def test_delivery_scenario_follows_every_parcel_to_the_door(tmp_path: Path) -> None:
    report = demo(tmp_path, "delivery")

    [run] = report.scenarios
    assert run["name"] == "delivery"
    assert run["passed"]
    checks = {c["what"]: c["ok"] for c in run["checks"]}
    assert all(checks.values()), checks
    delivered = [what for what in checks if what.endswith("ended DELIVERED")]
    assert len(delivered) == len(report.orders) >= 2  # one parcel per (one-warehouse) order
    assert sum("milestone emails" in what for what in checks) == len(delivered)


def test_split_scenario_ships_two_captured_parcels_through_a_worker_crash(tmp_path: Path) -> None:
    report = demo(tmp_path, "split")

    [run] = report.scenarios
    assert run["name"] == "split"
    assert run["passed"]
    checks = {c["what"]: c["ok"] for c in run["checks"]}
    assert all(checks.values()), checks
    assert any("(2 each, one per warehouse)" in what for what in checks)
    assert sum(" add up to " in what for what in checks) == len(report.orders) >= 1
    delivered = [what for what in checks if what.endswith("ended DELIVERED")]
    assert len(delivered) == 2 * len(report.orders)  # both parcels, after the SIGKILL
    assert sum("milestone emails" in what for what in checks) == len(delivered)
