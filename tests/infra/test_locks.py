"""The hashed lock (`infra/locks/runtime.txt`) the worker image and the starter asset install
agrees with pyproject.toml's exact runtime pins, and every entry is hashed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
LOCK = PROJECT_DIR / "infra" / "locks" / "runtime.txt"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    entries: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", block)
        if match:
            entries[normalise(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return entries


def test_every_runtime_pin_of_pyproject_is_locked_at_the_same_version() -> None:
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    pins = {
        normalise(name): version
        for name, version in (d.split("==") for d in pyproject["project"]["dependencies"])
    }

    lock = locked()

    assert {name: lock.get(name, ("missing", 0))[0] for name in pins} == pins


def test_every_locked_distribution_has_hashes() -> None:
    lock = locked()

    assert len(lock) > 20
    assert [name for name, (_, hashes) in lock.items() if hashes == 0] == []


def test_the_lock_has_linux_arm64_wheels_of_the_compiled_dependencies() -> None:
    # pip cannot verify the hash of a wheel the lock does not list: the aarch64 builds of the
    # compiled dependencies must be in it (checked by their hash count: one per wheel).
    lock = locked()

    assert lock["temporalio"][1] >= 4  # x86_64, aarch64, macOS, Windows
    assert lock["pydantic-core"][1] >= 20
