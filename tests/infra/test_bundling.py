"""The starter's asset recipe (`infra.starter_asset`) and its CDK local bundling."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.app import BUNDLING_STACKS
from infra.components.bundling import LAMBDA_RUNTIME, PipLocalBundling, starter_code
from infra.starter_asset import (
    NOT_IN_STARTER,
    PROJECT_DIR,
    AssetError,
    locked_requirements,
    starter_source_hash,
)

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

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


def _project_copy(root: Path) -> Path:
    """The files the asset hash may read, plus some it must ignore, in a scratch project."""
    shutil.copytree(PROJECT_DIR / "service" / "oms", root / "service" / "oms",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (root / "infra" / "locks").mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "infra" / "starter_asset.py", root / "infra")
    shutil.copy(PROJECT_DIR / "infra" / "locks" / "runtime.txt", root / "infra" / "locks")
    (root / "README.md").write_text("readme\n")
    return root


def test_the_lambda_asset_hash_ignores_changes_outside_what_the_lambda_runs(
    tmp_path: Path,
) -> None:
    project = _project_copy(tmp_path)
    before = starter_source_hash(project)

    (project / "README.md").write_text("a new paragraph\n")
    (project / "service" / "oms" / "cli" / "app.py").write_text("# the CLI changed\n")
    (project / "service" / "oms" / "local" / "new_scenario.py").write_text("X = 1\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_new.py").write_text("def test(): ...\n")

    assert starter_source_hash(project) == before


@pytest.mark.parametrize(
    "changed",
    ["service/oms/intake/starter.py", "infra/locks/runtime.txt", "infra/starter_asset.py"],
)
def test_the_lambda_asset_hash_follows_what_the_lambda_runs(tmp_path: Path, changed: str) -> None:
    project = _project_copy(tmp_path)
    before = starter_source_hash(project)

    with (project / changed).open("a") as file:
        file.write("\n# changed\n")

    assert starter_source_hash(project) != before


def _asset_key(project: Path) -> str:
    """The S3 key CDK gives the Lambda code of `project` (a tiny app, bundling skipped as in
    every test synth; the whole stack's synth is the session's one, elsewhere)."""
    app = cdk.App(outdir=str(project / "cdk.out"), context={BUNDLING_STACKS: []})
    stack = cdk.Stack(app, "Asset")
    lambda_.Function(
        stack,
        "Function",
        runtime=LAMBDA_RUNTIME,
        handler="oms.intake.starter.lambda_handler",
        code=starter_code(project),
    )
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    return str(function["Properties"]["Code"]["S3Key"])


def test_cdk_redeploys_the_lambdas_only_when_what_they_run_changes(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    first = _asset_key(project)

    (project / "README.md").write_text("only the docs changed\n")
    (project / "service" / "oms" / "cli" / "app.py").write_text("# the CLI changed\n")
    unrelated = _asset_key(project)
    with (project / "service" / "oms" / "intake" / "starter.py").open("a") as file:
        file.write("\n# the handler changed\n")
    related = _asset_key(project)

    assert unrelated == first
    assert related != first


def test_the_starter_and_the_backlog_publisher_share_one_asset(synth: Synth) -> None:
    codes = {
        json.dumps(resource["Properties"]["Code"], sort_keys=True)
        for resource in synth.of_type("AWS::Lambda::Function").values()
        if resource["Properties"].get("Handler", "").startswith("oms.")
    }
    assert len(codes) == 1
