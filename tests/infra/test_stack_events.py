"""Partner events in the stack: the queue + DLQ, the SigV4 webhook straight into SQS, and the
events Lambda with exactly its grants, asserted on the synthesised template."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any

from infra.components.events import HANDLER, SEND_MESSAGE_TEMPLATE
from infra.starter_asset import OMS_NOT_IN_STARTER

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-AbCdEf"


def events_queues(synth: Synth) -> tuple[str, str]:
    """(queue, dlq) logical ids of the events construct."""
    queues = {k: v for k, v in synth.of_type("AWS::SQS::Queue").items() if k.startswith("Events")}
    (queue,) = [k for k, v in queues.items() if "RedrivePolicy" in v["Properties"]]
    (dlq,) = set(queues) - {queue}
    return queue, dlq


def events_function(synth: Synth) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in synth.of_type("AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == HANDLER
    ]
    return found


def statements_of(synth: Synth, role_id: str) -> dict[str, set[str]]:
    """Resource (as JSON) -> actions, over every inline policy attached to the role."""
    found: dict[str, set[str]] = {}
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = {actions} if isinstance(actions, str) else set(actions)
            key = json.dumps(statement["Resource"], sort_keys=True)
            found[key] = found.get(key, set()) | actions
    return found


def ref(logical_id: str, attribute: str = "Arn") -> str:
    return json.dumps({"Fn::GetAtt": [logical_id, attribute]}, sort_keys=True)


def test_the_events_queue_redrives_to_its_dlq_which_outlives_it(synth: Synth) -> None:
    queue, dlq = events_queues(synth)
    properties = synth.resources[queue]["Properties"]

    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert (
        synth.resources[dlq]["Properties"]["MessageRetentionPeriod"]
        > (properties["MessageRetentionPeriod"])
    )
    for logical_id in (queue, dlq):
        assert synth.resources[logical_id]["Properties"]["SqsManagedSseEnabled"] is True


def test_the_webhook_method_requires_sigv4_and_validates_the_body(synth: Synth) -> None:
    (resource_id,) = [
        k
        for k, v in synth.of_type("AWS::ApiGateway::Resource").items()
        if v["Properties"]["PathPart"] == "events"
    ]
    methods = [
        v["Properties"]
        for v in synth.of_type("AWS::ApiGateway::Method").values()
        if v["Properties"]["ResourceId"] == {"Ref": resource_id}
    ]

    (method,) = methods  # POST only: no OPTIONS, no ANY
    assert method["HttpMethod"] == "POST"
    assert method["AuthorizationType"] == "AWS_IAM"
    validator = synth.resources[method["RequestValidatorId"]["Ref"]]["Properties"]
    assert validator["ValidateRequestBody"] is True
    model = synth.resources[method["RequestModels"]["application/json"]["Ref"]]["Properties"]
    assert model["Schema"]["required"] == ["type", "eventId"]
    # No method anywhere in the API is left open.
    every = [v["Properties"] for v in synth.of_type("AWS::ApiGateway::Method").values()]
    assert {m["AuthorizationType"] for m in every} == {"AWS_IAM"}


def test_the_webhook_sends_the_body_unchanged_to_the_events_queue_through_its_role(
    synth: Synth,
) -> None:
    queue, _ = events_queues(synth)
    (method,) = [
        v["Properties"]
        for v in synth.of_type("AWS::ApiGateway::Method").values()
        if v["Properties"]["HttpMethod"] == "POST"
    ]
    integration = method["Integration"]

    assert integration["Type"] == "AWS"
    assert integration["IntegrationHttpMethod"] == "POST"
    assert integration["PassthroughBehavior"] == "NEVER"  # only JSON is forwarded
    assert integration["RequestTemplates"] == {"application/json": SEND_MESSAGE_TEMPLATE}
    uri = json.dumps(integration["Uri"])
    assert ":sqs:path/" in uri
    assert json.dumps({"Fn::GetAtt": [queue, "QueueName"]}) in uri
    # SQS refusing the message is a 502 to the carrier (it retries), never a 200.
    responses = {
        r["StatusCode"]: r.get("SelectionPattern") for r in integration["IntegrationResponses"]
    }
    assert responses == {"200": None, "502": "[45]\\d{2}"}
    # The gateway's role may send to this queue and do nothing else.
    role_id = integration["Credentials"]["Fn::GetAtt"][0]
    assert statements_of(synth, role_id) == {
        ref(queue): {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    }


def test_the_stage_throttles_traces_and_logs_without_bodies(synth: Synth) -> None:
    _, stage = synth.one("AWS::ApiGateway::Stage")

    (settings,) = stage["MethodSettings"]
    assert settings["DataTraceEnabled"] is False
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    assert stage["TracingEnabled"] is True
    assert "DestinationArn" in stage["AccessLogSetting"]


def test_the_invoke_policy_allows_exactly_the_webhook_method(synth: Synth) -> None:
    (policy,) = [
        v["Properties"]
        for k, v in synth.of_type("AWS::IAM::ManagedPolicy").items()
        if k.startswith("Events")
    ]

    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    resource = json.dumps(statement["Resource"])
    assert "/POST/events" in resource
    assert "*" not in resource.replace("/*/POST", "/POST")  # any stage, this method only


def test_the_events_lambda_consumes_the_events_queue_with_partial_batch_responses(
    synth: Synth,
) -> None:
    queue, dlq = events_queues(synth)
    function_id, function = events_function(synth)
    (mapping,) = [
        v["Properties"]
        for v in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if v["Properties"]["FunctionName"] == {"Ref": function_id}
    ]

    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    visibility = synth.resources[queue]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * function["Timeout"]
    env = function["Environment"]["Variables"]
    assert env["OMS_EVENTS_QUEUE"] == {"Ref": queue}
    assert env["OMS_EVENTS_DLQ"] == {"Ref": dlq}
    assert env["OMS_TEMPORAL_SECRET_ARN"] == SECRET_ARN
    assert "OMS_PAYLOAD_KEY_ID" in env
    assert "OMS_ORDERS_TABLE" in env
    assert not {"TEMPORAL_API_KEY", "TEMPORAL_TLS_CLIENT_KEY_DATA"} & set(env)


def test_the_events_lambda_has_exactly_the_grants_it_needs(synth: Synth) -> None:
    queue, dlq = events_queues(synth)
    _, function = events_function(synth)
    role_id = function["Role"]["Fn::GetAtt"][0]
    (orders_table,) = [k for k in synth.of_type("AWS::DynamoDB::Table") if "Orders" in k]
    (key,) = [k for k in synth.of_type("AWS::KMS::Key") if "Payload" in k]
    log_group = function["LoggingConfig"]["LogGroup"]["Ref"]

    grants = statements_of(synth, role_id)

    ledger = grants.pop(ref(orders_table), None) or grants.pop(
        json.dumps([{"Fn::GetAtt": [orders_table, "Arn"]}, {"Ref": "AWS::NoValue"}])
    )
    assert ledger == {"dynamodb:GetItem"}  # which delivery a tracking number belongs to
    assert grants == {
        ref(queue): {
            "sqs:ReceiveMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueUrl",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        },
        ref(dlq): {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
        json.dumps(SECRET_ARN): {"secretsmanager:GetSecretValue"},
        ref(key): {"kms:GenerateDataKey"},  # signals are encrypted, never decrypted here
        ref(log_group): {"logs:CreateLogStream", "logs:PutLogEvents"},
    }
    assert "ManagedPolicyArns" not in synth.resources[role_id]["Properties"]


def test_a_dead_lettered_carrier_event_reaches_a_person(synth: Synth) -> None:
    _, dlq = events_queues(synth)
    (alarm,) = [
        v["Properties"]
        for k, v in synth.of_type("AWS::CloudWatch::Alarm").items()
        if k.startswith("Events")
    ]

    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}
    ]
    (topic,) = synth.of_type("AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic}]
    assert alarm["OKActions"] == [{"Ref": topic}]


def test_the_handler_exists_in_the_shared_asset() -> None:
    module, _, name = HANDLER.rpartition(".")

    assert callable(getattr(importlib.import_module(module), name))
    # The asset drops only the CLI and the local stack; the events package stays in.
    assert module.split(".")[1] not in OMS_NOT_IN_STARTER
