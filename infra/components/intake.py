"""Intake: the SQS queue orders arrive on, and its dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class IntakeQueues(Construct):
    """The intake queue with a DLQ; both encrypted (SSE-SQS) and TLS-only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        visibility_timeout: Duration,
        max_receive_count: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # Kept so the starter can check the "visibility >= 6x function timeout" rule.
        self.visibility_timeout = visibility_timeout
        self.max_receive_count = max_receive_count

        # cdk-nag's SQS3 (queue without DLQ) recognises this queue as the intake's DLQ.
        # SQS keeps a message's original enqueue time when it moves to the DLQ, so the DLQ
        # must retain longer than the source queue or dead letters expire early.
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
            visibility_timeout=visibility_timeout,
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=max_receive_count
            ),
        )
