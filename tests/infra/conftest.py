"""Fixtures for the infra tests: ONE in-process synth of the real app per session.

jsii starts a Node.js process and loads aws-cdk-lib (seconds) and a synth of the whole stack
takes tens of seconds, so every template assertion shares the session's synth. The pinned CDK
CLI synth (test_cdk_cli.py) is started in the background first and runs alongside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Before jsii starts Node.js: Node 20 is past end-of-life for jsii and it says so on stderr.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.app import BUNDLING_STACKS, build
from infra.components.starter import HANDLER
from infra.github_oidc import GithubDeployStack
from infra.nag import register_checks

PROJECT_DIR = Path(__file__).resolve().parents[2]
CDK_CLI = PROJECT_DIR / "node_modules" / ".bin" / "cdk"
# The CLI reads cdk.json's context (the feature flags); an in-process App must be given it.
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((PROJECT_DIR / "cdk.json").read_text())["context"]

# A production-like deployment: values differ from the defaults so the assertions can tell a
# context value from a default; mTLS and api-key are both covered in test_stack_workers.py.
DEPLOY_CONTEXT: dict[str, Any] = {
    "temporalAddress": "oms-prod.a1b2c.tmprl.cloud:7233",
    "temporalNamespace": "oms-prod.a1b2c",
    "temporalSecret": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-AbCdEf",
    "senderEmail": "orders@shop.example.com",
    "senderDomain": "shop.example.com",
    "alarmEmail": "oncall@shop.example.com",
    "workerDrainSeconds": "45",  # a string, as `cdk -c` passes it
    "starterConcurrency": 8,
    "sesTestRecipients": "qa@shop.example.com,support@shop.example.com",
    "attentionAfterSeconds": "900",
    "returnWindowDays": 45,
    "returnParcelDays": "21",
}


@dataclass(frozen=True)
class Synth:
    template: Template
    document: dict[str, Any]  # the template as JSON
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.document["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def one(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The only resource of a type: (logical id, properties)."""
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        ((logical_id, resource),) = found.items()
        return logical_id, resource.get("Properties", {})

    def worker_task(self) -> tuple[str, dict[str, Any]]:
        """The workers' task definition (the replay gate has one of its own)."""
        found = {
            k: v["Properties"]
            for k, v in self.of_type("AWS::ECS::TaskDefinition").items()
            if not v["Properties"].get("Family", "").endswith("-replay-gate")
        }
        assert len(found) == 1, f"expected one worker task definition, found {sorted(found)}"
        ((logical_id, properties),) = found.items()
        return logical_id, properties

    def starter(self) -> tuple[str, dict[str, Any]]:
        """The starter function (the stack also has CDK's custom-resource handlers)."""
        found = {
            k: v["Properties"]
            for k, v in self.of_type("AWS::Lambda::Function").items()
            if v["Properties"].get("Handler") == HANDLER
        }
        assert len(found) == 1, f"expected one starter function, found {sorted(found)}"
        ((logical_id, properties),) = found.items()
        return logical_id, properties


@dataclass
class CliSynth:
    process: subprocess.Popen[str]
    outdir: Path

    def wait(self, timeout: float) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, output


@pytest.fixture(scope="session")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliSynth | None]:
    """`cdk synth` with the pinned CLI, as `make synth` runs it, minus the pip bundling (which
    needs the package index); started here so it overlaps the in-process synth."""
    if not CDK_CLI.exists():
        yield None
        return
    outdir = tmp_path_factory.mktemp("cli.out")
    env = {
        **os.environ,
        # As the Makefile does: the venv's python first, so cdk.json's `python` is this one.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CDK_DISABLE_VERSION_CHECK": "1",
    }
    command = [str(CDK_CLI), "synth", "--quiet", "-c", "skipLambdaBundling=true", "-o", str(outdir)]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield CliSynth(process=process, outdir=outdir)
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, cli_synth: CliSynth | None) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # Skip the pip bundling of the Lambda: offline, and CDK then fingerprints nothing big.
    context = {**CDK_JSON_CONTEXT, **DEPLOY_CONTEXT, BUNDLING_STACKS: []}
    app = cdk.App(outdir=str(outdir), context=context)
    stack = build(app)
    template = Template.from_stack(stack)  # synthesises the app: the nag plugin runs here
    return Synth(template=template, document=template.to_json(), outdir=outdir)


@pytest.fixture(scope="session")
def template_file(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.json"
    path.write_text(json.dumps(synth.document))
    return path


DEPLOY_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-deploy-AbCdEf"


@pytest.fixture(scope="session")
def deploy_role_template() -> dict[str, Any]:
    """The GitHub deploy role's stack (production), synthesised once per session."""
    app = cdk.App()
    stack = GithubDeployStack(
        app,
        "OmsGithubDeploy",
        repository="shop/oms",
        oms_stack_name="OmsOnTemporal",
        temporal_deploy_secret=DEPLOY_SECRET,
        production=True,
    )
    register_checks(app)  # the nag gate: an unacknowledged finding raises here
    document: dict[str, Any] = Template.from_stack(stack).to_json()
    return document
