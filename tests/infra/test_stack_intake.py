"""Intake queue, DLQ and the starter Lambda, asserted on the synthesised template."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Capture, Match

from infra.components.starter import HANDLER

if TYPE_CHECKING:
    from tests.infra.conftest import Synth


def queue_ids(synth: Synth) -> tuple[str, str]:
    """(intake, dlq) logical ids: the intake queue is the one with a redrive policy. The stack
    has two pairs (orders, partner events: test_stack_events.py); the intake's ids say Intake."""
    every = synth.of_type("AWS::SQS::Queue")
    assert len(every) == 4, sorted(every)
    queues = {k: v for k, v in every.items() if k.startswith("Intake")}
    intake = [k for k, v in queues.items() if "RedrivePolicy" in v["Properties"]]
    assert len(queues) == 2, sorted(queues)
    assert len(intake) == 1, sorted(queues)
    (dlq,) = set(queues) - set(intake)
    return intake[0], dlq


def test_event_source_reports_partial_batch_failures_with_bounded_concurrency(
    synth: Synth,
) -> None:
    intake, _ = queue_ids(synth)
    function_id, _ = synth.starter()

    (mapping,) = [
        v["Properties"]
        for v in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if v["Properties"]["FunctionName"] == {"Ref": function_id}
    ]

    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 8}  # starterConcurrency
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [intake, "Arn"]}
    assert mapping["FunctionName"] == {"Ref": function_id}


def test_visibility_timeout_is_at_least_six_times_the_function_timeout(synth: Synth) -> None:
    intake, _ = queue_ids(synth)
    _, function = synth.starter()

    visibility = synth.resources[intake]["Properties"]["VisibilityTimeout"]

    assert visibility >= 6 * function["Timeout"]


def test_intake_redrives_to_the_dlq_after_a_bounded_number_of_receives(synth: Synth) -> None:
    intake, dlq = queue_ids(synth)

    redrive = synth.resources[intake]["Properties"]["RedrivePolicy"]

    assert redrive == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 5}
    # Dead letters keep their original enqueue time, so the DLQ must outlive the source.
    retention = synth.resources[intake]["Properties"]["MessageRetentionPeriod"]
    assert synth.resources[dlq]["Properties"]["MessageRetentionPeriod"] > retention


@pytest.mark.parametrize("which", ["intake", "dlq"])
def test_queue_is_encrypted_and_denies_plain_http(synth: Synth, which: str) -> None:
    intake, dlq = queue_ids(synth)
    queue = intake if which == "intake" else dlq

    assert synth.resources[queue]["Properties"]["SqsManagedSseEnabled"] is True
    policies = [
        p["Properties"]
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue} in p["Properties"]["Queues"]
    ]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    assert {
        "Action": "sqs:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": {"Fn::GetAtt": [queue, "Arn"]},
    } in statements


def test_starter_runs_the_handler_on_python_313_arm64_outside_any_vpc(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "oms.intake.starter.lambda_handler",
            "Runtime": "python3.13",
            "Architectures": ["arm64"],  # the asset's wheels are manylinux aarch64
            # Reaches Temporal Cloud directly: no VPC, so no NAT in its path.
            "VpcConfig": Match.absent(),
        },
    )


def test_starter_is_told_where_temporal_the_queues_and_the_secret_are(synth: Synth) -> None:
    intake, dlq = queue_ids(synth)
    _, function = synth.starter()

    env = function["Environment"]["Variables"]

    assert env["TEMPORAL_ADDRESS"] == "oms-prod.a1b2c.tmprl.cloud:7233"
    assert env["TEMPORAL_NAMESPACE"] == "oms-prod.a1b2c"
    assert env["OMS_TEMPORAL_SECRET_ARN"] == (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-AbCdEf"
    )
    assert env["OMS_INTAKE_QUEUE"] == {"Ref": intake}  # Ref of a queue is its URL
    assert env["OMS_DLQ"] == {"Ref": dlq}
    assert env["OMS_TASK_QUEUE"] == "order-processing"
    assert env["POWERTOOLS_SERVICE_NAME"] == "oms-starter"
    # No credentials in plain environment: the function reads them from the secret.
    assert not {"TEMPORAL_API_KEY", "TEMPORAL_TLS_CLIENT_KEY_DATA"} & set(env)


def role_statements(synth: Synth, role_ref: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to a role."""
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_starter_may_read_the_secret_consume_intake_and_send_to_the_dlq_only(
    synth: Synth,
) -> None:
    intake, dlq = queue_ids(synth)
    _, function = synth.starter()
    role_ref = {"Ref": function["Role"]["Fn::GetAtt"][0]}
    log_group = function["LoggingConfig"]["LogGroup"]["Ref"]

    by_resource = {
        str(s["Resource"]): {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])
        for s in role_statements(synth, role_ref)
    }
    # The order ledger (claim an order's entry) and the payload key (encrypt only): each tested
    # with its own construct; here only that they are exactly these.
    (orders_table,) = [k for k in synth.of_type("AWS::DynamoDB::Table") if "Orders" in k]
    ledger = by_resource.pop(str({"Fn::GetAtt": [orders_table, "Arn"]}), None) or by_resource.pop(
        str([{"Fn::GetAtt": [orders_table, "Arn"]}, {"Ref": "AWS::NoValue"}])
    )
    assert ledger == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    (key,) = [k for k in synth.of_type("AWS::KMS::Key") if "Payload" in k]
    assert by_resource.pop(str({"Fn::GetAtt": [key, "Arn"]})) == {"kms:GenerateDataKey"}

    assert by_resource == {
        str({"Fn::GetAtt": [intake, "Arn"]}): {
            "sqs:ReceiveMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueUrl",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        },
        # The complete ARN as given: exactly this secret, no wildcard.
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-AbCdEf": {
            "secretsmanager:GetSecretValue",
        },
        str({"Fn::GetAtt": [dlq, "Arn"]}): {
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        },
        # Its own log group, not every log group as the managed basic-execution policy allows.
        str({"Fn::GetAtt": [log_group, "Arn"]}): {"logs:CreateLogStream", "logs:PutLogEvents"},
    }


def test_starter_role_has_no_managed_policy(synth: Synth) -> None:
    role = Capture()

    synth.template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": HANDLER, "Role": {"Fn::GetAtt": [role, "Arn"]}}
    )

    properties = synth.resources[role.as_string()]["Properties"]
    assert "ManagedPolicyArns" not in properties
    assert properties["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]


def test_starter_logs_are_kept_for_the_configured_retention(synth: Synth) -> None:
    _, function = synth.starter()
    log_group = function["LoggingConfig"]["LogGroup"]["Ref"]

    assert synth.resources[log_group]["Properties"]["RetentionInDays"] == 30
