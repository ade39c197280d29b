"""The GitHub deploy role as code (infra/github_oidc.py): what deploy.yml calls is granted,
nothing decrypts, only the production environment of the repository may assume it."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.config import ConfigError
from infra.github_oidc import GithubDeployStack
from infra.nag import register_checks
from tests.infra.conftest import PROJECT_DIR

DEPLOY_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-deploy-AbCdEf"


@pytest.fixture(scope="module")
def role_template() -> dict[str, Any]:
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
    cli_calls = {
        f"{service}:{''.join(part.capitalize() for part in operation.split('-'))}"
        for service, operation in re.findall(r"\baws (\w+) ([a-z-]+)", workflow)
    }
    cli_calls = {c.replace("ecr:GetLoginPassword", "ecr:GetAuthorizationToken") for c in cli_calls}
    assert cli_calls <= granted, cli_calls - granted
    # The smoke check (infra/smoke.py) and docker push.
    assert {
        "lambda:GetFunctionConfiguration",
        "ecs:DescribeServices",
        "sqs:GetQueueAttributes",
        "ecr:PutImage",
        "secretsmanager:GetSecretValue",
        "sts:AssumeRole",
        # infra/replay_task.py: the in-account replay gate
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "iam:PassRole",
    } <= granted
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
