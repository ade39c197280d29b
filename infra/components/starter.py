"""The starter: a Lambda on the intake queue that starts one workflow per order."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from infra.components.intake import IntakeQueues
from infra.components.temporal import TemporalConnection
from infra.nag import acknowledge

HANDLER = "oms.intake.starter.lambda_handler"


class Starter(Construct):
    """Python 3.13 arm64 function fed by SQS with partial batch responses and bounded
    concurrency.

    It talks to Temporal Cloud over the internet (no VPC, hence no NAT cost): credentials come
    from the secret at cold start, so the function only needs to read it. Its own role may
    write its own log group only (not the managed basic-execution policy's every log group).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        intake: IntakeQueues,
        temporal: TemporalConnection,
        code: lambda_.Code,
        task_queue: str,
        timeout: Duration,
        memory_mib: int,
        batch_size: int,
        max_concurrency: int,
        reserved_concurrency: int | None,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        if intake.visibility_timeout.to_seconds() < 6 * timeout.to_seconds():
            # Otherwise SQS redelivers a batch while the first invocation still works on it.
            raise ValueError("intake queue visibility timeout must be >= 6x the starter timeout")

        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="OMS starter: its log group, the intake queue, the DLQ, the secret",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=HANDLER,
            code=code,
            role=self.role,
            timeout=timeout,
            memory_size=memory_mib,
            reserved_concurrent_executions=reserved_concurrency,
            log_group=self.log_group,
            environment={
                **temporal.environment,
                "OMS_TEMPORAL_SECRET_ARN": temporal.secret.secret_arn,
                "OMS_INTAKE_QUEUE": intake.queue.queue_url,
                "OMS_DLQ": intake.dlq.queue_url,
                "OMS_TASK_QUEUE": task_queue,
                "OMS_LOG_LEVEL": "INFO",
                "OMS_LOG_FORMAT": "json",
                "POWERTOOLS_SERVICE_NAME": "oms-starter",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                intake.queue,
                batch_size=batch_size,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )
        temporal.grant_read(self.function)
        # Invalid messages go straight to the DLQ with the reason attached.
        intake.dlq.grant_send_messages(self.function)
        acknowledge(
            self.function,
            "L1",
            "Python 3.13 on purpose (CONTRACT.md §10): the locked wheels and the bytecode in the "
            "asset are built for 3.13, and the worker image runs python:3.13-slim too.",
        )
