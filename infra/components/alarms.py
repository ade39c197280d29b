"""Alarms: dead letters, starter errors, intake backlog and worker health, to one SNS topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.workers import Workers

Op = cloudwatch.ComparisonOperator


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
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        one_minute = Duration.minutes(1)
        self.dlq_depth = self._alarm(
            "DeadLetters",
            "Orders are in the dead-letter queue: invalid or conflicting messages, or starts "
            "that kept failing. Inspect with `oms dlq list`.",
            dlq.metric_approximate_number_of_messages_visible(
                period=one_minute, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            operator=Op.GREATER_THAN_THRESHOLD,
        )
        self.starter_errors = self._alarm(
            "StarterErrors",
            "The starter Lambda failed invocations (not single records: those are retried).",
            starter.metric_errors(period=Duration.minutes(5), statistic=cloudwatch.Stats.SUM),
            threshold=1,
            operator=Op.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        self.intake_backlog = self._alarm(
            "IntakeBacklog",
            "Orders wait on the intake queue for over 5 minutes: the starter is failing or "
            "throttled.",
            intake_queue.metric_approximate_age_of_oldest_message(
                period=one_minute, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=300,
            operator=Op.GREATER_THAN_THRESHOLD,
            periods=5,
        )
        # Missing data counts as breaching: a service with no tasks may report nothing.
        self.workers_running = self._alarm(
            "WorkersRunning",
            f"Fewer than {min_workers} worker task(s) running for 5 minutes: orders stall.",
            workers.metric_running_tasks(),
            threshold=min_workers,
            operator=Op.LESS_THAN_THRESHOLD,
            periods=5,
            missing=cloudwatch.TreatMissingData.BREACHING,
        )
        self.workers_cpu = self._alarm(
            "WorkersCpu",
            "Worker CPU above 85% for 15 minutes even with auto scaling: raise workerMaxCount.",
            workers.service.metric_cpu_utilization(period=Duration.minutes(5)),
            threshold=85,
            operator=Op.GREATER_THAN_THRESHOLD,
            periods=3,
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
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=operator,
            evaluation_periods=periods,
            treat_missing_data=missing,
        )
        action = actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm
