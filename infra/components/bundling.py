"""Package the starter Lambda with pip on the host: no Docker at synth or deploy.

`pip install --platform manylinux2014_x86_64 --only-binary=:all:` fetches the Linux wheels of
the runtime dependencies whatever the host is, so the asset matches the Lambda runtime.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

LAMBDA_PYTHON_VERSION = "3.11"
LAMBDA_PLATFORM = "manylinux2014_x86_64"


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """Installs the project (runtime dependencies only) into the asset directory."""

    def __init__(self, project_dir: Path) -> None:
        self._project_dir = project_dir

    # The interface declares the options as keywords, but jsii calls back with one positional
    # struct; accept both (nothing in them is needed: the command is fixed).
    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        command = [
            sys.executable, "-m", "pip", "install",
            "--quiet", "--disable-pip-version-check", "--no-compile",
            "--platform", LAMBDA_PLATFORM, "--implementation", "cp",
            "--python-version", LAMBDA_PYTHON_VERSION, "--only-binary=:all:",
            "--target", output_dir,
            str(self._project_dir),
        ]  # fmt: skip
        result = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603 - fixed argv, no shell
        if result.returncode != 0:
            # Raise rather than return False: False would make CDK fall back to Docker.
            raise RuntimeError(
                f"bundling the starter Lambda failed (exit {result.returncode}):\n"
                f"{' '.join(command)}\n{result.stderr[-4000:]}"
            )
        return True


def starter_code(project_dir: Path) -> lambda_.Code:
    """The Lambda asset: the `oms` package and its runtime dependencies.

    Tests and `cdk synth -c aws:cdk:bundling-stacks=[]` skip bundling; then CDK neither runs
    pip nor fingerprints the project directory (bundled assets are hashed by their output).
    """
    return lambda_.Code.from_asset(
        str(project_dir),
        bundling=cdk.BundlingOptions(
            # Never used (local bundling succeeds or raises) but required by the API.
            image=lambda_.Runtime.PYTHON_3_11.bundling_image,
            local=PipLocalBundling(project_dir),
        ),
    )
