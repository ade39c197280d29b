"""After the local stack stops, commands say so instead of hinting at real AWS settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "command", [("list",), ("inventory", "list"), ("faults", "list", "--json")]
)
def test_no_local_stack_is_one_clear_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TEMPORAL_", "OMS_"))}
    env["TEMPORAL_ADDRESS"] = ""  # unset, as in a fresh shell (envconfig falls back to localhost)
    result = subprocess.run(
        [sys.executable, "-m", "oms", *command], cwd=tmp_path, env=env, capture_output=True,
        text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "no local stack is running (start one with `oms dev`)" in line
