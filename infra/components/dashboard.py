"""The CloudWatch dashboard: orders end to end, backlog and workers, errors, emails.

Rows, top to bottom (each row's widgets left to right):
1. alarm status of every alarm;
2. orders: intake (messages sent to the queue) -> started / duplicate / dead-lettered ->
   completed / cancelled / failed (per minute); failed by reason; needing attention (number);
3. backlog and workers: backlog count and age, backlog per worker (the scaling signal) with the
   rate-limited guard, running tasks and pollers, CPU;
4. errors: DLQ depth and oldest intake message, starter record failures / throttled starts /
   Lambda errors, workflow task and activity failures, DynamoDB throttles;
5. emails: sent and rejected (per minute), SES bounce and complaint rates.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.scaling import (
    BacklogPublisher,
    BacklogScaling,
    business_metric,
    sdk_metric,
)
from infra.components.workers import Workers
from oms.metrics import NAMESPACE, SDK_NAMESPACE, Metric

SUM = cloudwatch.Stats.SUM
WIDTH = 24  # the dashboard grid's width


def _graph(title: str, metrics: Sequence[cloudwatch.IMetric], width: int) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, height=6)


class Dashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        intake_queue: sqs.IQueue,
        dlq: sqs.IQueue,
        starter: lambda_.IFunction,
        workers: Workers,
        publisher: BacklogPublisher,
        scaling: BacklogScaling,
        tables: Sequence[dynamodb.ITable],
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        queue = publisher.task_queue

        def count(metric: Metric, **dimensions: str) -> cloudwatch.Metric:
            return business_metric(metric, SUM, **dimensions)

        failed_by_reason = cloudwatch.MathExpression(
            expression=f"SEARCH('{{{NAMESPACE},Reason}} MetricName=\"OrdersFailed\"', 'Sum', 60)",
            label="",
            period=Duration.minutes(1),
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.hours(3),
            widgets=[
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=WIDTH)],
                [
                    _graph(
                        "Orders end to end (per minute)",
                        [
                            intake_queue.metric_number_of_messages_sent(statistic=SUM),
                            count(Metric.ORDERS_STARTED),
                            count(Metric.ORDERS_DUPLICATE),
                            count(Metric.ORDERS_DEAD_LETTERED),
                            count(Metric.ORDERS_COMPLETED),
                            count(Metric.ORDERS_CANCELLED),
                            count(Metric.ORDERS_FAILED),
                        ],
                        12,
                    ),
                    _graph("Failed orders by reason", [failed_by_reason], 8),
                    cloudwatch.SingleValueWidget(
                        title="Orders needing attention",
                        metrics=[business_metric(Metric.ORDERS_NEEDING_ATTENTION)],
                        width=4,
                        height=6,
                    ),
                ],
                [
                    _graph(
                        "Backlog",
                        [
                            publisher.metric(Metric.BACKLOG_COUNT),
                            publisher.metric(Metric.BACKLOG_AGE),
                        ],
                        6,
                    ),
                    _graph(
                        "Scaling signal",
                        [
                            scaling.scale_out_metric,
                            publisher.metric(Metric.RATE_LIMITED),
                            count(Metric.START_THROTTLED),
                        ],
                        6,
                    ),
                    _graph(
                        "Workers",
                        [workers.metric_running_tasks(), publisher.metric(Metric.POLLERS)],
                        6,
                    ),
                    _graph(
                        "Worker CPU and task slots",
                        [
                            workers.service.metric_cpu_utilization(period=Duration.minutes(1)),
                            *(
                                cloudwatch.Metric(
                                    namespace=SDK_NAMESPACE,
                                    metric_name="temporal_worker_task_slots_available",
                                    dimensions_map={"TaskQueue": queue, "WorkerType": kind},
                                    statistic=cloudwatch.Stats.MINIMUM,
                                    period=Duration.minutes(1),
                                )
                                for kind in ("WorkflowWorker", "ActivityWorker")
                            ),
                        ],
                        6,
                    ),
                ],
                [
                    _graph(
                        "Intake",
                        [
                            dlq.metric_approximate_number_of_messages_visible(),
                            intake_queue.metric_approximate_age_of_oldest_message(),
                        ],
                        6,
                    ),
                    _graph(
                        "Starter",
                        [
                            count(Metric.START_FAILED),
                            count(Metric.START_THROTTLED),
                            starter.metric_errors(statistic=SUM),
                            starter.metric_throttles(statistic=SUM),
                        ],
                        6,
                    ),
                    _graph(
                        "Temporal tasks",
                        [
                            sdk_metric("temporal_workflow_task_execution_failed", queue),
                            sdk_metric("temporal_activity_execution_failed", queue),
                            sdk_metric("temporal_activity_schedule_to_start_latency", queue, "p90"),
                        ],
                        6,
                    ),
                    _graph(
                        "DynamoDB throttles",
                        [
                            table.metric(f"{kind}ThrottleEvents", statistic=SUM)
                            for table in tables
                            for kind in ("Read", "Write")
                        ],
                        6,
                    ),
                ],
                [
                    _graph(
                        "Emails (per minute)",
                        [count(Metric.EMAILS_SENT), count(Metric.EMAILS_REJECTED)],
                        12,
                    ),
                    _graph(
                        "SES reputation",
                        [
                            cloudwatch.Metric(
                                namespace="AWS/SES",
                                metric_name=name,
                                statistic=cloudwatch.Stats.MAXIMUM,
                                period=Duration.hours(1),
                            )
                            for name in ("Reputation.BounceRate", "Reputation.ComplaintRate")
                        ],
                        12,
                    ),
                ],
            ],
        )
