"""The starter's asset recipe (`infra.starter_asset`) and its CDK local bundling."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from infra.components.bundling import PipLocalBundling
from infra.starter_asset import NOT_IN_STARTER, PROJECT_DIR, AssetError, locked_requirements

if TYPE_CHECKING:
    from pathlib import Path

LOCK = """# header comment
annotated-doc==0.0.7 \\
    --hash=sha256:aaaa
    # via typer
boto3==1.44.5 \\
    --hash=sha256:bbbb \\
    --hash=sha256:cccc
    # via oms
typer==0.29.2 \\
    --hash=sha256:dddd
"""


def test_the_starter_requirements_drop_whole_blocks_of_excluded_distributions() -> None:
    kept = locked_requirements(LOCK, exclude=frozenset({"typer", "annotated-doc"}))

    assert kept.splitlines()[0] == "boto3==1.44.5 \\"
    assert "--hash=sha256:cccc" in kept
    assert "typer" not in kept.replace("# via typer", "")
    assert "aaaa" not in kept
    assert "dddd" not in kept


def test_the_real_lock_keeps_the_handlers_dependencies_only() -> None:
    lock = (PROJECT_DIR / "infra" / "locks" / "runtime.txt").read_text()

    kept = locked_requirements(lock, exclude=NOT_IN_STARTER)

    names = {line.split("==")[0] for line in kept.splitlines() if "==" in line}
    assert {"temporalio", "boto3", "pydantic", "aws-lambda-powertools", "pycountry"} <= names
    assert not names & {"typer", "rich", "pygments", "types-protobuf"}


def test_a_failed_pip_install_raises_rather_than_asking_for_docker(tmp_path: Path) -> None:
    # Given: a project whose lock file pip cannot parse (fails at once, offline)
    lock = tmp_path / "project" / "infra" / "locks" / "runtime.txt"
    lock.parent.mkdir(parents=True)
    lock.write_text("this is ~~ not a requirement\n")
    bundling = PipLocalBundling(tmp_path / "project")

    # When / Then: an error with pip's command and output, never False (False means "Docker")
    with pytest.raises(AssetError, match="building the starter asset failed") as failure:
        bundling.try_bundle(str(tmp_path / "out"))
    assert "--platform manylinux2014_aarch64" in str(failure.value)
    assert "--python-version 3.13" in str(failure.value)
    assert "--require-hashes" in str(failure.value)
