"""The worker image and the Lambda install runtime dependencies only: their entry points must
import without the dev/local/infra extras (moto, psutil, pytest, CDK)."""

from __future__ import annotations

import subprocess
import sys

BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"moto", "psutil", "pytest", "werkzeug", "aws_cdk", "cdk_nag"}:
            raise ImportError("not a runtime dependency: " + name)
sys.meta_path.insert(0, Block())
import oms.cli, oms.worker, oms.intake.starter
"""


def test_entry_points_import_with_runtime_dependencies_only() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
