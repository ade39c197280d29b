"""The pinned CDK CLI and the app command: what `make synth|diff|deploy` runs."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.infra.conftest import CliSynth, Synth

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_package_json_pins_a_cli_that_reads_this_cloud_assembly() -> None:
    package = json.loads((PROJECT_DIR / "package.json").read_text())
    lock = json.loads((PROJECT_DIR / "package-lock.json").read_text())

    pinned = package["devDependencies"]["aws-cdk"]

    # Exact 2.x pin: aws-cdk 3.x cannot read aws-cdk-lib 2.275's assembly, and ^/~ would float.
    assert re.fullmatch(r"2\.1148\.\d+", pinned), pinned
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == pinned
    assert lock["packages"][""]["devDependencies"]["aws-cdk"] == pinned


def test_cdk_json_runs_the_app_module() -> None:
    cdk_json = json.loads((PROJECT_DIR / "cdk.json").read_text())

    assert cdk_json["app"] == "python -m infra.app"
    assert callable(importlib.import_module("infra.app").main)


def test_cdk_synth_with_the_pinned_cli_succeeds(cli_synth: CliSynth | None, synth: Synth) -> None:
    # `synth` is requested so the in-process synth runs while the CLI's runs in the background.
    if cli_synth is None:
        pytest.skip("node_modules/.bin/cdk missing: run `npm ci` (make test does)")

    returncode, output = cli_synth.wait(timeout=240)

    assert returncode == 0, output[-4000:]
    template = json.loads((cli_synth.outdir / "OmsOnTemporal.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::ECS::Service", "AWS::SQS::Queue"} <= types
    report = json.loads((cli_synth.outdir / "validation-report.json").read_text())
    # AwsSolutions, and the CLI's own "CloudFormation Validate" when it has something to say.
    conclusions = {p["pluginName"]: p["conclusion"] for p in report["pluginReports"]}
    assert conclusions["AwsSolutions"] == "success"
    assert set(conclusions.values()) == {"success"}, conclusions
