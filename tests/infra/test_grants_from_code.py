"""Issue 20, step 7: every AWS call a principal's code can make is granted in the template,
and every grant is used — the calls derived from the code (tests/infra/aws_calls.py), not
listed by hand. What the code cannot show is here, small and explicit, each with its reason:
grants AWS uses on the principal's behalf, and calls in the code that the stack deliberately
leaves ungranted because their setting is not given to that process (checked too)."""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.components.events import HANDLER as EVENTS_HANDLER
from infra.components.scaling import PUBLISHER_HANDLER
from infra.components.starter import HANDLER
from infra.github_oidc import ECR_PUSH
from tests.infra.aws_calls import aws_actions, code_actions, service, workflow_cli_actions
from tests.infra.conftest import PROJECT_DIR, Synth

DEPLOY_WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "deploy.yml"

LAMBDA_LOGS = "the Lambda service writes the function's own log group with its role"


@dataclass(frozen=True)
class Principal:
    entry: str  # the module the process imports first
    # Functions something outside our code calls (each with why).
    roots: dict[str, str]
    runs_activities: bool = False
    # Granted for AWS to use on the principal's behalf: action -> why.
    runtime_grants: dict[str, str] = field(default_factory=dict)
    # In the code, not granted: action -> the setting whose absence keeps the call from
    # running (the test checks the stack does not give the process that setting).
    not_granted: dict[str, str] = field(default_factory=dict)


PRINCIPALS = {
    "worker": Principal(
        entry="oms.worker",
        roots={
            "run_worker": "`python -m oms worker` (the image's entry point) runs it",
            "encode": "the data converter calls the payload codec for every payload out",
            "decode": "... and for every payload in",
        },
        runs_activities=True,
        not_granted={
            # ECS injects the credential (execution role); the task role never reads it.
            "secretsmanager:GetSecretValue": "OMS_TEMPORAL_SECRET_ARN",
        },
    ),
    "starter": Principal(
        entry="oms.intake.starter",
        roots={
            "lambda_handler": "the Lambda runtime calls the handler",
            # Never decode: it starts workflows and receives no payload back.
            "encode": "the data converter encrypts every workflow input",
        },
        runtime_grants={
            "logs:CreateLogStream": LAMBDA_LOGS,
            "logs:PutLogEvents": LAMBDA_LOGS,
            **{
                f"sqs:{action}": "the SQS event source mapping polls the intake queue with "
                "the function's role"
                for action in (
                    "ReceiveMessage",
                    "DeleteMessage",
                    "ChangeMessageVisibility",
                    "GetQueueAttributes",
                )
            },
        },
    ),
    "events": Principal(
        entry="oms.events.function",
        roots={
            "lambda_handler": "the Lambda runtime calls the handler",
            # Signals carry the event to its delivery workflow: encrypted on the way out.
            "encode": "the data converter encrypts every signal's payload",
        },
        runtime_grants={
            "logs:CreateLogStream": LAMBDA_LOGS,
            "logs:PutLogEvents": LAMBDA_LOGS,
            **{
                f"sqs:{action}": "the SQS event source mapping polls the events queue with "
                "the function's role"
                for action in (
                    "ReceiveMessage",
                    "DeleteMessage",
                    "ChangeMessageVisibility",
                    "GetQueueAttributes",
                )
            },
        },
    ),
    "backlog publisher": Principal(
        entry="oms.ops.backlog",
        roots={"lambda_handler": "the Lambda runtime calls the handler (every minute)"},
        runtime_grants={"logs:CreateLogStream": LAMBDA_LOGS, "logs:PutLogEvents": LAMBDA_LOGS},
        not_granted={
            # It reads task-queue statistics only: data_converter builds no codec without a key.
            "kms:GenerateDataKey": "OMS_PAYLOAD_KEY_ID",
        },
    ),
}


def role_and_env(synth: Synth, name: str) -> tuple[str, dict[str, Any]]:
    if name == "worker":
        _, task = synth.worker_task()
        env = {e["Name"]: e["Value"] for e in task["ContainerDefinitions"][0]["Environment"]}
        return task["TaskRoleArn"]["Fn::GetAtt"][0], env
    handler = {
        "starter": HANDLER,
        "events": EVENTS_HANDLER,
        "backlog publisher": PUBLISHER_HANDLER,
    }[name]
    (function,) = [
        r["Properties"]
        for r in synth.of_type("AWS::Lambda::Function").values()
        if r["Properties"].get("Handler") == handler
    ]
    return function["Role"]["Fn::GetAtt"][0], dict(function["Environment"]["Variables"])


def granted(synth: Synth, role: str) -> set[str]:
    actions: set[str] = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                action = statement["Action"]
                actions |= {action} if isinstance(action, str) else set(action)
    return actions


def covered(action: str, patterns: set[str]) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in patterns)


@pytest.fixture(scope="module")
def used() -> dict[str, set[str]]:
    return {
        name: aws_actions(p.entry, p.roots, runs_activities=p.runs_activities)
        for name, p in PRINCIPALS.items()
    }


@pytest.mark.parametrize("name", PRINCIPALS)
def test_every_call_of_the_code_is_granted(
    synth: Synth, used: dict[str, set[str]], name: str
) -> None:
    role, _ = role_and_env(synth, name)
    grants = granted(synth, role)
    missing = {a for a in used[name] if not covered(a, grants)}
    assert missing == set(PRINCIPALS[name].not_granted), f"{name}: not granted {missing}"


@pytest.mark.parametrize("name", PRINCIPALS)
def test_every_grant_is_used_by_the_code_or_by_aws_for_it(
    synth: Synth, used: dict[str, set[str]], name: str
) -> None:
    role, _ = role_and_env(synth, name)
    unused = granted(synth, role) - used[name]
    assert unused == set(PRINCIPALS[name].runtime_grants), f"{name}: granted, unused {unused}"


@pytest.mark.parametrize("name", PRINCIPALS)
def test_what_is_left_ungranted_cannot_run(synth: Synth, name: str) -> None:
    _, env = role_and_env(synth, name)
    for action, setting in PRINCIPALS[name].not_granted.items():
        assert setting not in env, f"{name} is given {setting}, so it calls {action}"


def test_the_scan_finds_client_calls_and_ignores_look_alikes() -> None:
    code = """
import asyncio
@workflow.query(name="status")
def status(self): ...
async def f(db, sqs, kms, key):
    db.transact_write_items(TransactItems=[{"Put": {}}, {"Update": {}}])
    await asyncio.to_thread(sqs.send_message, QueueUrl="u", MessageBody="b")
    AESGCM(key).decrypt(b"nonce", b"data", None)
    db.get_paginator("scan").paginate(TableName="t")
    get_secret("arn")
"""
    nodes = list(ast.walk(ast.parse(code)))
    services = [service(name) for name in ("dynamodb", "sqs", "kms")]

    assert code_actions(nodes, services) == {
        "dynamodb:PutItem",  # a transaction is authorised per item action
        "dynamodb:UpdateItem",
        "sqs:SendMessage",  # handed to a thread, not called here
        "dynamodb:Scan",  # through a paginator
        "secretsmanager:GetSecretValue",  # Powertools parameters
    }  # not dynamodb:Query (a decorator) nor kms:Decrypt (AESGCM, positional arguments)


# The GitHub deploy role (infra/github_oidc.py): the Python steps deploy.yml runs, each by
# the functions its command line calls; `oms versions promote` connects to Temporal exactly as
# oms.ops.rollout does (oms.temporal_client), the rest of the CLI makes no AWS call on its way.
PIPELINE_STEPS = {
    "infra.smoke": ("smoke",),
    "infra.replay_task": ("replay",),
    "infra.prescale": ("prescale_hold_command", "prescale_release_command"),
    "oms.ops.rollout": ("live_builds_command", "wait_command", "current_build_command"),
}
# Granted for a tool or AWS to use with the role's credentials: action -> why.
PIPELINE_RUNTIME_GRANTS = {
    "sts:AssumeRole": "the CDK CLI assumes the bootstrap roles (diff, deploy, publishing)",
    **dict.fromkeys(ECR_PUSH, "docker push of the worker image"),
    "iam:PassRole": "ECS RunTask hands the replay gate task its two roles",
    "ecs:UpdateService": "Application Auto Scaling checks that the caller of "
    "RegisterScalableTarget may update the ECS service it scales",
}
# In the code, not granted to the production role: action -> why it never runs there.
PIPELINE_NOT_GRANTED = {
    "sqs:SendMessage": "the smoke check's canary runs outside production only (--canary)",
    "kms:GenerateDataKey": "no OMS_PAYLOAD_KEY_ID in the jobs: their client builds no codec",
}


@pytest.fixture(scope="module")
def pipeline_used() -> set[str]:
    found = set().union(*(aws_actions(entry, roots) for entry, roots in PIPELINE_STEPS.items()))
    return found | workflow_cli_actions(DEPLOY_WORKFLOW.read_text())


def deploy_role_grants(document: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                action = statement["Action"]
                actions |= {action} if isinstance(action, str) else set(action)
    return actions


def test_every_call_of_the_pipeline_steps_is_granted_to_the_deploy_role(
    deploy_role_template: dict[str, Any], pipeline_used: set[str]
) -> None:
    missing = pipeline_used - deploy_role_grants(deploy_role_template)
    assert missing == set(PIPELINE_NOT_GRANTED), f"deploy role: not granted {missing}"


def test_every_grant_of_the_deploy_role_is_used(
    deploy_role_template: dict[str, Any], pipeline_used: set[str]
) -> None:
    unused = deploy_role_grants(deploy_role_template) - pipeline_used
    assert unused == set(PIPELINE_RUNTIME_GRANTS), f"deploy role: granted, unused {unused}"


def test_what_the_deploy_role_lacks_cannot_run_in_the_jobs() -> None:
    workflow = DEPLOY_WORKFLOW.read_text()
    assert "OMS_PAYLOAD_KEY_ID" not in workflow
    # --canary only in the branch for stages other than production.
    (canary_line,) = [line for line in workflow.splitlines() if "--canary" in line]
    assert 'if [ "${OMS_STAGE}" != production ]' in workflow.split(canary_line)[0].splitlines()[-1]
