"""The starter's local (pip) bundling: fails loudly instead of falling back to Docker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from infra.components.bundling import PipLocalBundling

if TYPE_CHECKING:
    from pathlib import Path


def test_a_failed_pip_install_raises_rather_than_asking_for_docker(tmp_path: Path) -> None:
    # Given: a project directory that does not exist (pip fails at once, offline)
    bundling = PipLocalBundling(tmp_path / "no-such-project")

    # When / Then: an error with pip's output, never False (False means "try Docker")
    with pytest.raises(RuntimeError, match="bundling the starter Lambda failed") as failure:
        bundling.try_bundle(str(tmp_path / "out"))
    assert "--platform manylinux2014_x86_64" in str(failure.value)
    assert "--python-version 3.11" in str(failure.value)
