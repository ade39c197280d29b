"""Partner events (CONTRACT.md §4, §6d): the `oms-events` queue and its DLQ, the authenticated
HTTPS webhook that puts carrier events on it, and the events Lambda that routes each one to its
delivery workflow (`oms.events.function`).

The webhook is API Gateway straight into SQS (no Lambda in front): a carrier's POST is durable
once it gets a 200, whatever Temporal is doing. Callers authenticate with SigV4 (IAM auth on
the method): docs/DEPLOY.md says why not an API key.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from infra.components.temporal import TemporalConnection
from infra.nag import acknowledge

HANDLER = "oms.events.function.lambda_handler"
FUNCTION_TIMEOUT = Duration.seconds(30)
# SQS must not redeliver a batch while an invocation still works on it (as for the intake).
VISIBILITY_TIMEOUT = Duration.seconds(6 * 30)
MAX_RECEIVE_COUNT = 5
# A signal per event: a small batch and a few concurrent invocations keep up with carriers.
BATCH_SIZE = 10
MAX_CONCURRENCY = 5
# Carriers retry a failed webhook call; a steady rate well above their peak, with a burst.
THROTTLE_RATE = 50
THROTTLE_BURST = 100
# Sent to SQS as a form-encoded SendMessage; the JSON body becomes the message body unchanged.
SEND_MESSAGE_TEMPLATE = "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
# The gateway checks the envelope only; the events handler validates the rest (with reasons).
EVENT_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    type=apigw.JsonSchemaType.OBJECT,
    required=["type", "eventId"],
    properties={
        "type": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "eventId": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=128),
    },
)


class PartnerEvents(Construct):
    """Queue + DLQ (SSE-SQS, TLS-only), the IAM-authenticated webhook, the events Lambda."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        temporal: TemporalConnection,
        code: lambda_.Code,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        # Dead letters keep their original enqueue time: the DLQ retains longer than the queue.
        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=VISIBILITY_TIMEOUT,
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=MAX_RECEIVE_COUNT
            ),
        )
        self.function = self._function(temporal, code, log_retention)
        self.api, self.method = self._webhook(log_retention)
        # What a carrier's (or its bridge's) principal needs to call the webhook, and no more:
        # the operator attaches it to that principal (docs/DEPLOY.md).
        self.invoke_policy = iam.ManagedPolicy(
            self,
            "WebhookInvoke",
            description="POST carrier events to the OMS events webhook",
            statements=[
                iam.PolicyStatement(
                    actions=["execute-api:Invoke"], resources=[self.method.method_arn]
                )
            ],
        )

    def _function(
        self, temporal: TemporalConnection, code: lambda_.Code, log_retention: logs.RetentionDays
    ) -> lambda_.Function:
        log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="OMS events: its log group, the events queue, its DLQ, the secret",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            "Function",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=HANDLER,
            code=code,
            role=role,
            timeout=FUNCTION_TIMEOUT,
            memory_size=512,
            log_group=log_group,
            environment={
                **temporal.environment,
                "OMS_TEMPORAL_SECRET_ARN": temporal.secret.secret_arn,
                "OMS_EVENTS_QUEUE": self.queue.queue_url,
                "OMS_EVENTS_DLQ": self.dlq.queue_url,
                "OMS_LOG_LEVEL": "INFO",
                "OMS_LOG_FORMAT": "json",
                "POWERTOOLS_SERVICE_NAME": "oms-events",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=MAX_CONCURRENCY,
            )
        )
        temporal.grant_read(function)
        # Invalid events and unknown tracking numbers go straight to the DLQ with the reason.
        self.dlq.grant_send_messages(function)
        acknowledge(
            function,
            "L1",
            "Python 3.13 on purpose (CONTRACT.md §10): the events Lambda shares the starter's "
            "asset, whose locked wheels and bytecode are built for 3.13.",
        )
        return function

    def _webhook(self, log_retention: logs.RetentionDays) -> tuple[apigw.RestApi, apigw.Method]:
        access_logs = logs.LogGroup(self, "WebhookAccessLogs", retention=log_retention)
        api = apigw.RestApi(
            self,
            "Webhook",
            description="OMS partner events: POST /events (SigV4) -> the oms-events queue",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution and access logs need API Gateway's account-level CloudWatch role.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies stay out of the logs
                metrics_enabled=True,
                throttling_rate_limit=THROTTLE_RATE,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=False,  # a carrier's address is not needed to operate this
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )
        role = iam.Role(
            self,
            "WebhookRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="OMS events webhook: send to the events queue only",
        )
        self.queue.grant_send_messages(role)
        integration = apigw.AwsIntegration(
            service="sqs",
            path=f"{Stack.of(self).account}/{self.queue.queue_name}",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=role,
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,  # JSON only: 415 else
                request_parameters={
                    "integration.request.header.Content-Type": (
                        "'application/x-www-form-urlencoded'"
                    )
                },
                request_templates={"application/json": SEND_MESSAGE_TEMPLATE},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="200",
                        response_templates={"application/json": '{"accepted": true}'},
                    ),
                    # SQS refused (throttled, misconfigured): the carrier retries later.
                    apigw.IntegrationResponse(
                        status_code="502",
                        selection_pattern="[45]\\d{2}",
                        response_templates={"application/json": '{"accepted": false}'},
                    ),
                ],
            ),
        )
        model = api.add_model("CarrierEvent", content_type="application/json", schema=EVENT_SCHEMA)
        validator = api.add_request_validator(
            "Body", validate_request_body=True, validate_request_parameters=True
        )
        method = api.root.add_resource("events").add_method(
            "POST",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_models={"application/json": model},
            method_responses=[
                apigw.MethodResponse(status_code="200"),
                apigw.MethodResponse(status_code="502"),
            ],
        )
        acknowledge(
            api,
            "APIG3",
            "No WAF: every request must carry a valid SigV4 signature of the one principal the "
            "invoke policy is attached to, and the stage throttles; a web ACL adds $5+/month.",
        )
        acknowledge(
            api,
            "COG4",
            "Carriers are machines, not Cognito users: the method requires IAM (SigV4) auth, "
            "which docs/DEPLOY.md explains and tests/infra asserts.",
        )
        acknowledge(
            api,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role: AWS's managed policy is the documented "
            "one for it (the service writes every API's log groups in the region).",
        )
        return api, method

    def alarm_on_dead_letters(self, topic: sns.ITopic) -> cloudwatch.Alarm:
        """A dead-lettered carrier event means a parcel nobody follows: tell a person."""
        alarm = cloudwatch.Alarm(
            self,
            "DeadLetterAlarm",
            alarm_description="Carrier events dead-lettered (invalid, or an unknown tracking "
            "number). Runbook: docs/RUNBOOK.md#eventsdeadletters",
            metric=self.dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1)
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = actions.SnsAction(topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm
