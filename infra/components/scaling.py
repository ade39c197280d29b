"""Scale the workers on the task queue's backlog (not CPU): the publisher and the policies.

- The backlog publisher: a small Lambda (the starter's code, another handler) that an
  EventBridge rule runs every minute; it writes `OMS/BacklogCount`, `BacklogAgeSeconds`,
  `Pollers`, `NamespaceRateLimited` and `OrdersNeedingAttention` (`oms.ops.backlog`).
- Step scaling on backlog per running worker, as `infra/scaling_policy.py` says (the same
  numbers a test replays against a recorded curve): out while not rate-limited, in one task at a
  time and slowly (each stopped task drains on SIGTERM), never in while CPU is busy.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from infra.components.temporal import TemporalConnection
from infra.nag import acknowledge
from infra.scaling_policy import OUT_EXPRESSION, POLICY, in_expression
from oms.metrics import NAMESPACE, SDK_NAMESPACE, Metric

PUBLISHER_HANDLER = "oms.ops.backlog.lambda_handler"
ONE_MINUTE = Duration.minutes(1)


def business_metric(
    metric: Metric, statistic: str = cloudwatch.Stats.MAXIMUM, **dimensions: str
) -> cloudwatch.Metric:
    """A metric written by `oms.metrics` (namespace `OMS`)."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric.value,
        dimensions_map=dimensions or None,
        statistic=statistic,
        period=ONE_MINUTE,
    )


def sdk_metric(
    name: str,
    task_queue: str,
    statistic: str = cloudwatch.Stats.SUM,
    period: Duration = ONE_MINUTE,
) -> cloudwatch.Metric:
    """A Temporal SDK metric of the task queue, as `oms.metrics` writes it (namespace
    `OMS/Temporal`)."""
    return cloudwatch.Metric(
        namespace=SDK_NAMESPACE,
        metric_name=name,
        dimensions_map={"TaskQueue": task_queue},
        statistic=statistic,
        period=period,
    )


class BacklogPublisher(Construct):
    """Every minute: DescribeTaskQueue with stats -> CloudWatch (EMF in its log group)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        temporal: TemporalConnection,
        code: lambda_.Code,
        task_queue: str,
        log_retention: logs.RetentionDays,
        deployment_name: str = "oms",
    ) -> None:
        super().__init__(scope, construct_id)
        self.task_queue = task_queue
        log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="OMS backlog publisher: its log group and the Temporal secret",
        )
        log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=PUBLISHER_HANDLER,
            code=code,
            role=role,
            timeout=Duration.seconds(30),
            memory_size=256,
            # No reserved concurrency: a fresh account's quota of 10 cannot spare any (the stack
            # would roll back), and one run a minute of a few seconds never overlaps anyway.
            log_group=log_group,
            environment={
                **temporal.environment,
                "OMS_TEMPORAL_SECRET_ARN": temporal.secret.secret_arn,
                "OMS_TASK_QUEUE": task_queue,
                "OMS_WORKER_DEPLOYMENT": deployment_name,
                "OMS_METRICS": "emf",
                "OMS_LOG_FORMAT": "json",
            },
        )
        temporal.grant_read(self.function)
        events.Rule(
            self,
            "EveryMinute",
            description="Sample the Temporal task queue's backlog for worker scaling",
            schedule=events.Schedule.rate(ONE_MINUTE),
            targets=[targets.LambdaFunction(self.function, retry_attempts=0)],
        )
        acknowledge(
            self.function,
            "L1",
            "Python 3.13 on purpose: the same asset as the starter, built for 3.13.",
        )

    def metric(
        self, metric: Metric, statistic: str = cloudwatch.Stats.MAXIMUM
    ) -> cloudwatch.Metric:
        """A per-task-queue gauge of the publisher (BacklogCount, BacklogAgeSeconds, ...)."""
        return business_metric(metric, statistic, TaskQueue=self.task_queue)


class BacklogScaling(Construct):
    """Step scaling of one worker service on its task queue's backlog per running task."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        scaling: ecs.ScalableTaskCount,
        publisher: BacklogPublisher,
        running_tasks: cloudwatch.IMetric,
        cpu: cloudwatch.IMetric,
        cpu_target_percent: float = POLICY.cpu_busy_percent,
    ) -> None:
        super().__init__(scope, construct_id)
        inputs = {
            "backlog": publisher.metric(Metric.BACKLOG_COUNT),
            "limited": publisher.metric(Metric.RATE_LIMITED),
            "dispatch": publisher.metric(Metric.DISPATCH_LIMITED),
            "throttled": business_metric(Metric.START_THROTTLED, cloudwatch.Stats.SUM),
            "running": running_tasks,
        }
        self.scale_out_metric = cloudwatch.MathExpression(
            expression=OUT_EXPRESSION,
            using_metrics=inputs,
            label="Backlog per worker (0 while rate-limited)",
            period=ONE_MINUTE,
        )
        self.scale_in_metric = cloudwatch.MathExpression(
            # The CPU target of the workers' own CPU policy: one task fewer must stay under it.
            expression=in_expression(cpu_target_percent),
            using_metrics={"backlog": inputs["backlog"], "running": running_tasks, "cpu": cpu},
            label="Backlog per worker (high while CPU is busy)",
            period=ONE_MINUTE,
        )
        (low, _), *_ = POLICY.out_steps
        scaling.scale_on_metric(
            "BacklogOut",
            metric=self.scale_out_metric,
            scaling_steps=[
                autoscaling.ScalingInterval(upper=low, change=0),
                *(
                    autoscaling.ScalingInterval(lower=lower, change=add)
                    for lower, add in POLICY.out_steps
                ),
            ],
            adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.seconds(POLICY.out_cooldown_seconds),
            evaluation_periods=POLICY.out_evaluation_minutes,
            metric_aggregation_type=autoscaling.MetricAggregationType.MAXIMUM,
        )
        scaling.scale_on_metric(
            "BacklogIn",
            metric=self.scale_in_metric,
            scaling_steps=[
                autoscaling.ScalingInterval(upper=POLICY.in_below, change=-1),
                autoscaling.ScalingInterval(lower=POLICY.in_below, change=0),
            ],
            adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.seconds(POLICY.in_cooldown_seconds),
            evaluation_periods=POLICY.in_evaluation_minutes,
            metric_aggregation_type=autoscaling.MetricAggregationType.MAXIMUM,
        )
