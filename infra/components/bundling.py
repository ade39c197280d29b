"""Package the starter Lambda with pip on the host: no Docker at synth or deploy.

The recipe is `infra.starter_asset` (locked wheels for Lambda's arm64 platform and Python 3.13,
only what the handler imports, compiled bytecode); this module plugs it into CDK's local
bundling so `cdk synth` builds it whatever the host is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from infra.starter_asset import (
    LAMBDA_PLATFORM,
    PYTHON_VERSION,
    build_starter_asset,
    starter_source_hash,
)

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_13
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64  # the manylinux aarch64 wheels


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """Builds the starter asset into CDK's bundling output directory."""

    def __init__(self, project_dir: Path) -> None:
        self._project_dir = project_dir

    # The interface declares the options as keywords, but jsii calls back with one positional
    # struct; accept both (nothing in them is needed: the recipe is fixed).
    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        # Raises on failure rather than return False: False would make CDK fall back to Docker.
        compiled = build_starter_asset(
            Path(output_dir),
            platform=LAMBDA_PLATFORM,
            python_version=PYTHON_VERSION,
            project_dir=self._project_dir,
        )
        if not compiled:
            sys.stderr.write(
                f"warning: no Python {PYTHON_VERSION} found, the starter asset has no bytecode "
                "(cold starts compile every module; the deploy pipeline installs it)\n"
            )
        return True


def starter_code(project_dir: Path) -> lambda_.Code:
    """The Lambda asset: the handler's part of `oms` and its locked runtime dependencies.

    Tests and `cdk synth -c skipLambdaBundling=true` skip bundling. The hash is computed from
    the asset's inputs only (`starter_source_hash`): CDK's default would fingerprint the whole
    project directory, so every commit (a doc, a test) would redeploy both Lambdas.
    """
    return lambda_.Code.from_asset(
        str(project_dir),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=starter_source_hash(project_dir),
        bundling=cdk.BundlingOptions(
            # Never used (local bundling succeeds or raises) but required by the API.
            image=LAMBDA_RUNTIME.bundling_image,
            local=PipLocalBundling(project_dir),
        ),
    )
