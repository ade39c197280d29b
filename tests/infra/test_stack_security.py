"""Least privilege, the cdk-nag gate, cfn-lint and the alarms."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint_file

from infra.nag import acknowledge, register_checks

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infra.conftest import Synth

# Every acknowledged AwsSolutions finding. A new one must be added here on purpose, with its
# reason in the code; a stale one (nothing left to acknowledge) fails the test too.
EXPECTED_ACKNOWLEDGEMENTS = {
    "AwsSolutions-L1",
    "AwsSolutions-ECS2",
    "AwsSolutions-IAM5[Resource::*]",
    # The events webhook (infra/components/events.py): SigV4 auth instead of WAF and Cognito,
    # and API Gateway's account-level logging role with AWS's managed policy.
    "AwsSolutions-APIG3",
    "AwsSolutions-COG4",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
}
# The only statement AWS requires on "*": pulling from ECR starts with an authorisation token.
ALLOWED_STAR_ACTIONS = {"ecr:GetAuthorizationToken"}


def all_statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    return [
        (policy_id, statement)
        for policy_id, policy in synth.of_type("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_star_resource_except_where_aws_requires_it(synth: Synth) -> None:
    star = [
        (policy_id, statement["Action"])
        for policy_id, statement in all_statements(synth)
        if "*" in as_list(statement["Resource"])
    ]

    # The execution roles (workers, replay gate) pulling images: never a task role.
    assert len(star) == 2, star
    for policy_id, action in star:
        assert set(as_list(action)) == ALLOWED_STAR_ACTIONS
        assert "ExecutionRole" in policy_id


def test_no_identity_policy_grants_a_wildcard_action(synth: Synth) -> None:
    # Grants name their actions; the one `*` the stack needs is a resource (above), not an
    # action. (Resource policies' `sqs:*` Deny statements for plain HTTP are not grants.)
    wildcards = [
        (policy_id, action)
        for policy_id, statement in all_statements(synth)
        for action in as_list(statement["Action"])
        if "*" in action
    ]

    assert wildcards == []


def test_worker_task_role_names_exactly_the_tables_and_the_ses_resources(synth: Synth) -> None:
    _, task = synth.worker_task()
    role_ref = {"Ref": task["TaskRoleArn"]["Fn::GetAtt"][0]}
    tables = sorted(synth.of_type("AWS::DynamoDB::Table"))
    identity_id, _ = synth.one("AWS::SES::EmailIdentity")
    config_set_id, _ = synth.one("AWS::SES::ConfigurationSet")

    statements = [
        s
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]

    dynamodb = [s for s in statements if "dynamodb:" in json.dumps(s["Action"])]
    # The item actions the activities use; TransactWriteItems is authorised per item action.
    assert {a for s in dynamodb for a in as_list(s["Action"])} == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    assert sorted(r["Fn::GetAtt"][0] for s in dynamodb for r in as_list(s["Resource"])) == tables
    (send,) = [s for s in statements if "ses:SendEmail" in as_list(s["Action"])]
    resources = json.dumps(send["Resource"])
    assert f'"Ref": "{identity_id}"' in resources
    assert f'"Ref": "{config_set_id}"' in resources
    # SES sandbox: the listed test recipients' identities, by exact address (no wildcard).
    assert ":identity/qa@shop.example.com" in resources
    assert ":identity/support@shop.example.com" in resources
    assert len(send["Resource"]) == 4
    assert "*" not in resources
    # The worker never touches the queues or the secret itself (ECS injects the secret).
    assert not [s for s in statements if "sqs" in json.dumps(s["Action"])]
    assert not [s for s in statements if "secretsmanager" in json.dumps(s["Action"])]


def test_nag_report_has_no_finding_and_only_reasoned_acknowledgements(synth: Synth) -> None:
    report = json.loads((synth.outdir / "validation-report.json").read_text())

    (plugin,) = report["pluginReports"]

    assert plugin["pluginName"] == "AwsSolutions"
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []
    acknowledged = {v["ruleName"]: v["reason"] for v in plugin["suppressedViolations"]}
    assert set(acknowledged) == EXPECTED_ACKNOWLEDGEMENTS
    assert all(len(reason) >= 40 for reason in acknowledged.values()), acknowledged


def test_nag_gate_fails_synth_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    # Given: a TLS-only queue without encryption or DLQ, the DLQ finding acknowledged
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Throwaway")
    queue = sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.UNENCRYPTED, enforce_ssl=True)
    acknowledge(queue, "SQS3", "throwaway queue for the nag gate test, no consumer at all")
    register_checks(app)

    # When / Then: synth fails on the unacknowledged finding only
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        Template.from_stack(stack)
    message = str(failure.value)
    assert "AwsSolutions-SQS2" in message  # server-side encryption
    assert "AwsSolutions-SQS3" not in message  # acknowledged
    assert "AwsSolutions-SQS4" not in message  # compliant: TLS enforced


def test_cfn_lint_is_clean(template_file: Path) -> None:
    # W3005 (redundant DependsOn) is ignored: CDK makes the Lambda depend on its role's policy
    # explicitly so the function never starts without its permissions; the extra edge to the
    # role, already implied by GetAtt, is CDK's and harmless.
    matches = lint_file(
        template_file,
        config=ManualArgs(ignore_checks=["W3005"]),
    )

    assert [f"{m.rule.id} {m.message} ({m.path})" for m in matches] == []


def alarm_on(synth: Synth, namespace: str, metric: str, *, under: str = "") -> dict[str, Any]:
    """The one alarm on a metric (`under`: of the construct whose logical ids start so)."""
    found = [
        a["Properties"]
        for logical_id, a in synth.of_type("AWS::CloudWatch::Alarm").items()
        if logical_id.startswith(under)
        and a["Properties"].get("Namespace") == namespace
        and a["Properties"].get("MetricName") == metric
    ]
    assert len(found) == 1, f"expected one alarm on {namespace}/{metric}"
    return found[0]


def test_alarm_fires_on_any_dead_letter(synth: Synth) -> None:
    dlq = next(
        k
        for k, v in synth.of_type("AWS::SQS::Queue").items()
        if "RedrivePolicy" not in v["Properties"] and k.startswith("Intake")
    )

    # The events DLQ has its own alarm (test_stack_events.py).
    alarm = alarm_on(synth, "AWS/SQS", "ApproximateNumberOfMessagesVisible", under="Alarms")

    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_alarm_fires_on_starter_errors(synth: Synth) -> None:
    function_id, _ = synth.starter()

    alarm = alarm_on(synth, "AWS/Lambda", "Errors")

    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert alarm["Threshold"] >= 1


def test_alarm_fires_when_fewer_workers_run_than_the_minimum(synth: Synth) -> None:
    alarm = alarm_on(synth, "ECS/ContainerInsights", "RunningTaskCount")

    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 2  # workerMinCount (production)
    assert alarm["TreatMissingData"] == "breaching"  # no data from a dead service is bad news
    assert {d["Name"] for d in alarm["Dimensions"]} == {"ClusterName", "ServiceName"}


def test_every_alarm_notifies_the_encrypted_topic(synth: Synth) -> None:
    topic_id, topic = synth.one("AWS::SNS::Topic")
    _, subscription = synth.one("AWS::SNS::Subscription")

    # The step-scaling alarms act on their scaling policy instead (test_stack_operations.py).
    scaling = set(synth.of_type("AWS::ApplicationAutoScaling::ScalingPolicy"))
    alarms = [
        a
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if not any(action.get("Ref") in scaling for action in a["Properties"]["AlarmActions"])
    ]

    assert len(alarms) >= 15
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
    assert "KmsMasterKeyId" in topic
    assert (subscription["Protocol"], subscription["Endpoint"]) == (
        "email",
        "oncall@shop.example.com",
    )


def test_cloudwatch_may_publish_to_the_alarm_topic_for_this_accounts_alarms_only(
    synth: Synth,
) -> None:
    """`enforce_ssl` replaces SNS's default topic policy: without an explicit Allow, CloudWatch
    cannot publish and every alarm stays silent (the Deny-only policy the issue found)."""
    topic_id, _ = synth.one("AWS::SNS::Topic")
    _, policy = synth.one("AWS::SNS::TopicPolicy")
    statements = policy["PolicyDocument"]["Statement"]
    allows = [
        s
        for s in statements
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]

    (allow,) = allows
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": topic_id}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    (source,) = allow["Condition"]["ArnLike"].values()
    assert ":alarm:*" in json.dumps(source)
    assert policy["Topics"] == [{"Ref": topic_id}]
    # The TLS rule is still there, and denies nothing over TLS.
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_no_function_reserves_concurrency(synth: Synth) -> None:
    """A fresh account has 10 concurrent executions and Lambda keeps 10 unreserved: any
    reservation fails the first deploy (and the rollback leaves retained resources behind)."""
    reserving = {
        logical_id
        for logical_id, resource in synth.of_type("AWS::Lambda::Function").items()
        if "ReservedConcurrentExecutions" in resource["Properties"]
    }
    assert reserving == set()
