"""The GitHub deploy role as code (infra/github_oidc.py): what deploy.yml calls is granted,
nothing decrypts, only the production environment of the repository may assume it."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest

from infra.config import ConfigError
from infra.github_oidc import GithubDeployStack
from tests.infra.aws_calls import workflow_cli_actions
from tests.infra.conftest import DEPLOY_SECRET, PROJECT_DIR


@pytest.fixture(scope="module")
def role_template(deploy_role_template: dict[str, Any]) -> dict[str, Any]:
    return deploy_role_template


def statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (policy,) = [
        r["Properties"]
        for r in document["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def actions(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in statements(document).values():
        action = statement["Action"]
        found |= {action} if isinstance(action, str) else set(action)
    return found


def test_only_the_production_environment_of_the_repository_may_assume_it(
    role_template: dict[str, Any],
) -> None:
    (role,) = [r for r in role_template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:shop/oms:environment:production",
    }


def test_what_the_jobs_call_is_granted_and_nothing_decrypts(role_template: dict[str, Any]) -> None:
    granted = actions(role_template)
    workflow = (PROJECT_DIR / ".github" / "workflows" / "deploy.yml").read_text()

    # The AWS CLI calls the workflow makes itself, read from the workflow.
    cli_calls = workflow_cli_actions(workflow)
    assert cli_calls <= granted, cli_calls - granted
    # The Python steps' calls are derived from their code in test_grants_from_code.py; here
    # what no code of ours makes: docker push and the CDK CLI's role assumption.
    assert {"ecr:PutImage", "sts:AssumeRole"} <= granted
    assert not any(a.startswith("kms:") for a in granted)
    assert "sqs:SendMessage" not in granted  # the canary runs outside production only


def test_the_secret_is_the_deploy_credential_only(role_template: dict[str, Any]) -> None:
    secret = statements(role_template)["TemporalDeployCredential"]
    assert secret["Resource"] == DEPLOY_SECRET
    assert (
        "*"
        not in json.dumps(statements(role_template)["CdkBootstrapRoles"]["Resource"])
        .replace("${AWS::", "")
        .split("cdk-hnb659fds")[0]
    )


@pytest.mark.parametrize("secret", ["", "oms/temporal-deploy", "arn:aws:kms:eu-west-1:1:key/x"])
def test_a_missing_or_partial_deploy_secret_fails_synth(secret: str) -> None:
    # Given the role stack is asked for without a usable deploy secret
    app = cdk.App()
    # Then synth stops with one line naming the context key, instead of deploying a role
    # whose secret statement has no (or a never-matching) resource.
    with pytest.raises(ConfigError, match="context temporalDeploySecret"):
        GithubDeployStack(
            app,
            "OmsGithubDeploy",
            repository="shop/oms",
            oms_stack_name="OmsOnTemporal",
            temporal_deploy_secret=secret,
            production=True,
        )


def test_the_jobs_read_the_deploy_secret_never_the_runtime_one() -> None:
    workflow = (PROJECT_DIR / ".github" / "workflows" / "deploy.yml").read_text()
    # What oms.temporal_client reads in the jobs: only ever the deploy credential.
    assigned = set(re.findall(r"OMS_TEMPORAL_SECRET_ARN: \$\{\{ vars\.(\w+) \}\}", workflow))
    assert assigned == {"TEMPORAL_DEPLOY_SECRET_ARN"}


def test_the_prescale_may_only_touch_the_stacks_build_services(
    role_template: dict[str, Any],
) -> None:
    found = statements(role_template)
    services = found["PrescaleBuildServices"]
    assert sorted(services["Action"]) == ["ecs:DescribeServices", "ecs:UpdateService"]
    # service/<the stack's generated cluster name>/oms-worker-<build id>
    assert json.dumps(services["Resource"]).endswith(':service/OmsOnTemporal-*/oms-worker-*"]]}')
    register = found["PrescaleScalableTargets"]
    assert register["Action"] == "application-autoscaling:RegisterScalableTarget"
    assert register["Condition"] == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "ecs",
            "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount",
        }
    }
    # Describe has no resource-level permissions: '*' with that one read action only.
    describe = found["PrescaleReadScalableTargets"]
    assert (describe["Action"], describe["Resource"]) == (
        "application-autoscaling:DescribeScalableTargets",
        "*",
    )
    assert not [
        a
        for a in actions(role_template)
        if a.startswith("application-autoscaling:")
        and a not in {register["Action"], describe["Action"]}
    ]
