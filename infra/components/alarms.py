"""Alarms that reach a person: one encrypted SNS topic (email subscription from `alarmEmail`),
every alarm notifying it when it fires and when it recovers. Each description says what to do;
docs/RUNBOOK.md has the longer version under the alarm's name."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.scaling import BacklogPublisher, business_metric, sdk_metric
from infra.components.workers import Workers
from oms.metrics import Metric

Op = cloudwatch.ComparisonOperator
Missing = cloudwatch.TreatMissingData
RUNBOOK = "Runbook: docs/RUNBOOK.md#"
# Orders finish in minutes and returns/deliveries auto-upgrade: a week of draining is not normal.
OLD_DRAIN_DAYS = 7
# The SDK's counter of workflows that ended FAILED, as the worker writes it (oms.metrics).
SDK_WORKFLOW_FAILED = "temporal_workflow_failed"


class Alarms(Construct):
    """Each alarm notifies the topic when it fires and when it recovers."""

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
        tables: list[dynamodb.ITable],
        min_workers: int,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Encrypted topic: CloudWatch cannot use the AWS-managed SNS key, so a customer key
        # that lets the CloudWatch service encrypt notifications for this topic.
        key = kms.Key(
            self, "TopicKey", enable_key_rotation=True, description="OMS alarm notifications"
        )
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True)
        # `enforce_ssl` writes a topic policy (a Deny without TLS) that replaces SNS's default
        # one, so nothing may publish unless allowed here: CloudWatch, for this account's alarms
        # only (source conditions against the confused deputy).
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []
        one_minute, five_minutes = Duration.minutes(1), Duration.minutes(5)
        queue = publisher.task_queue

        # --- intake ---------------------------------------------------------------------
        self._alarm(
            "DeadLetters",
            "Messages are in the dead-letter queue (invalid, conflicting, or starts that kept "
            "failing). `oms dlq list`; fix the cause; `oms dlq redrive`.",
            dlq.metric_approximate_number_of_messages_visible(
                period=one_minute, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            "IntakeBacklog",
            "The oldest intake message is over 5 minutes old: the starter is failing or "
            "throttled. Check StarterRecordFailures, the starter's logs and Temporal.",
            intake_queue.metric_approximate_age_of_oldest_message(
                period=one_minute, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=300,
            operator=Op.GREATER_THAN_THRESHOLD,
            periods=5,
        )
        self._alarm(
            "StarterErrors",
            "Starter invocations failed as a whole (configuration, secret, code). Read the "
            "starter's log group; records are delivered again.",
            starter.metric_errors(period=five_minutes, statistic=cloudwatch.Stats.SUM),
            threshold=1,
            operator=Op.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        self._alarm(
            "StarterRecordFailures",
            "Over 10 order records failed to start in 5 minutes (Temporal unreachable or "
            "rate-limited): SQS retries them. Check Temporal Cloud's status and the namespace's "
            "action limit.",
            business_metric(Metric.START_FAILED, cloudwatch.Stats.SUM).with_(period=five_minutes),
            threshold=10,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            "StarterThrottles",
            "Lambda throttled the starter: raise starterReservedConcurrency or the account's "
            "concurrency limit.",
            starter.metric_throttles(period=five_minutes, statistic=cloudwatch.Stats.SUM),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )

        # --- Temporal and workers -----------------------------------------------------------
        self._alarm(
            "BacklogAge",
            "Tasks waited over 2 minutes for a worker for 5 minutes: workers are too few, "
            "stuck or not polling. Check WorkersRunning, NoWorkerPolling and scaling activity.",
            publisher.metric(Metric.BACKLOG_AGE),
            threshold=120,
            operator=Op.GREATER_THAN_THRESHOLD,
            periods=5,
        )
        self._alarm(
            "ScheduleToStart",
            "Workflow tasks wait over 5 s (p90) before a worker picks them up: the workers are "
            "saturated (slots) or too few. Check worker CPU and task slots on the dashboard.",
            sdk_metric(
                "temporal_workflow_task_schedule_to_start_latency", queue, "p90", five_minutes
            ),
            threshold=5000,
            operator=Op.GREATER_THAN_THRESHOLD,
            periods=2,
        )
        # Missing data is breaching: a publisher that stopped must not read as "pollers fine".
        self._alarm(
            "NoWorkerPolling",
            "No worker has polled the task queue for 3 minutes: orders stall. Check the ECS "
            "service's tasks, their logs and the Temporal credentials (`oms doctor`).",
            publisher.metric(Metric.POLLERS, cloudwatch.Stats.MINIMUM),
            threshold=1,
            operator=Op.LESS_THAN_THRESHOLD,
            periods=3,
            missing=Missing.BREACHING,
        )
        # Worker Versioning: a build that still has work (current/ramping) or pinned orders
        # (draining) must have workers; a drain that lasts days holds an old build alive.
        self._alarm(
            "BuildWithoutPollers",
            "A current, ramping or draining worker build has no worker polling for 5 minutes: "
            "its orders wait for nobody. `oms versions list`, `oms doctor`; check that build's "
            "ECS service (oms-worker-BUILD) and its image.",
            publisher.metric(Metric.BUILDS_WITHOUT_POLLERS),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
            periods=5,
        )
        self._alarm(
            "OldDrain",
            f"A worker build has been draining for over {OLD_DRAIN_DAYS} days: an order "
            "pinned to it is stuck or very long, and its service keeps costing. Find its open "
            "workflows and finish or move them (runbook).",
            publisher.metric(Metric.OLDEST_DRAIN_DAYS).with_(period=Duration.hours(1)),
            threshold=OLD_DRAIN_DAYS,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        # Reachability is a metric, not the health check (oms.health): a live worker that cannot
        # reach Temporal keeps retrying and must not be replaced; a person must know, though.
        self._alarm(
            "TemporalUnreachable",
            "A worker could not reach Temporal for 3 minutes (each worker probes every 30 s; "
            "the workers stay up and retry). Check Temporal Cloud's status page, the namespace "
            "endpoint, the credentials secret and the NAT gateway's egress.",
            business_metric(Metric.TEMPORAL_REACHABLE, cloudwatch.Stats.MINIMUM, TaskQueue=queue),
            threshold=1,
            operator=Op.LESS_THAN_THRESHOLD,
            periods=3,
        )
        self._alarm(
            "WorkflowTaskFailures",
            "Workflow tasks fail (non-determinism or a bug in workflow code): the affected "
            "orders make no progress. Find them in the worker logs; fix and redeploy.",
            sdk_metric("temporal_workflow_task_execution_failed", queue, period=five_minutes),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        # The last guard of the process core: a bug (`BUGS`, oms.process.runtime) fails the
        # workflow instead of retrying its task silently; the SDK counts each failed workflow
        # as `workflow_failed` (core's `temporal_` prefix), which the worker publishes.
        self._alarm(
            "WorkflowsFailed",
            "Workflows failed: a bug in a flow (the process core fails the workflow on one "
            "rather than retry it forever). Those orders or returns stopped; stock or money may "
            "be held. Find them (`temporal workflow list -q \"ExecutionStatus='Failed'\"`), fix, "
            "redeploy, settle each by hand.",
            sdk_metric(SDK_WORKFLOW_FAILED, queue, period=five_minutes),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            "OrdersNeedingAttention",
            "Orders are NEEDS_ATTENTION: a step that must finish keeps failing. `oms doctor`, "
            "`oms status ORDER_ID`; fix the cause or settle with `oms resolve`.",
            business_metric(Metric.ORDERS_NEEDING_ATTENTION),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        # Missing data counts as breaching: a service with no tasks may report nothing.
        self._alarm(
            "WorkersRunning",
            f"Fewer than {min_workers} worker task(s) running for 5 minutes: orders stall. "
            "Check the ECS service's events (image, secrets, health check).",
            workers.metric_running_tasks(),
            threshold=min_workers,
            operator=Op.LESS_THAN_THRESHOLD,
            periods=5,
            missing=Missing.BREACHING,
        )
        self._alarm(
            "WorkersCpu",
            "Worker CPU above 85% for 15 minutes even with auto scaling: raise workerMaxCount "
            "or workerCpu.",
            workers.service.metric_cpu_utilization(period=five_minutes),
            threshold=85,
            operator=Op.GREATER_THAN_THRESHOLD,
            periods=3,
        )

        # --- AWS dependencies -----------------------------------------------------------------
        throttles = {
            f"t{i}{kind[0].lower()}": table.metric(
                f"{kind}ThrottleEvents", statistic=cloudwatch.Stats.SUM, period=five_minutes
            )
            for i, table in enumerate(tables)
            for kind in ("Read", "Write")
        }
        self._alarm(
            "DynamoDbThrottles",
            "DynamoDB throttled the order ledger or stock table: activities retry, orders slow "
            "down. Check for a hot SKU; the tables are on-demand (raise the account quota).",
            cloudwatch.MathExpression(
                expression=" + ".join(f"FILL({name}, 0)" for name in throttles),
                using_metrics=throttles,
                label="DynamoDB throttle events",
                period=five_minutes,
            ),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        # Email that cannot go out. Blocked: SES refuses to send for a reason of ours (sender
        # not verified, sandbox, account paused, IAM); every email waits and retries.
        self._alarm(
            "EmailsBlocked",
            "SES refuses to send our emails (sender not verified, sandbox, sending paused, IAM): "
            "every customer email waits and retries. Verify the sender identity, leave the "
            "sandbox or fix the grant; the emails then go out by themselves.",
            business_metric(Metric.EMAILS_BLOCKED, cloudwatch.Stats.SUM).with_(period=five_minutes),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        # Rejected: SES refused a customer's address for good; that customer got no email.
        self._alarm(
            "EmailsRejected",
            "SES refused customer addresses for good in the last hour: those customers got no "
            "email about their order. `oms doctor`, the order's status; contact them another "
            "way and look for bad addresses upstream.",
            business_metric(Metric.EMAILS_REJECTED, cloudwatch.Stats.SUM).with_(
                period=Duration.hours(1)
            ),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        # SES's account reputation: AWS reviews an account at 5% bounces / 0.1% complaints.
        for name, metric_name, threshold in (
            ("SesBounceRate", "Reputation.BounceRate", 0.04),
            ("SesComplaintRate", "Reputation.ComplaintRate", 0.0008),
        ):
            self._alarm(
                name,
                f"SES {metric_name} above {threshold:.2%}, close to where AWS pauses sending: "
                "look for bad addresses upstream (the orders' emails) before SES reviews the "
                "account.",
                cloudwatch.Metric(
                    namespace="AWS/SES",
                    metric_name=metric_name,
                    statistic=cloudwatch.Stats.MAXIMUM,
                    period=Duration.hours(1),
                ),
                threshold=threshold,
                operator=Op.GREATER_THAN_THRESHOLD,
            )

    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        operator: cloudwatch.ComparisonOperator,
        periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=f"{description} {RUNBOOK}{construct_id.lower()}",
            metric=metric,
            threshold=threshold,
            comparison_operator=operator,
            evaluation_periods=periods,
            treat_missing_data=missing,
        )
        action = actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)
        return alarm
