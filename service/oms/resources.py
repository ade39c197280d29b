"""Create the AWS resources the service needs where nothing else does (the local stack, tests).

In AWS the CDK stack owns these; the shapes here mirror infra/ (keys, redrive, identity).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from oms.aws import AwsClients
from oms.config import Settings

MAX_RECEIVE_COUNT = 5
VISIBILITY_TIMEOUT_SECONDS = 180  # >= 6x the starter's timeout, as in the CDK stack


@dataclass(frozen=True)
class QueueUrls:
    intake: str
    dlq: str
    events: str = ""  # carrier and supplier events (CONTRACT.md §4)
    events_dlq: str = ""


def ensure_tables(dynamodb: Any, settings: Settings) -> None:
    existing = set(dynamodb.list_tables()["TableNames"])
    tables = {
        settings.inventory_table: ([("sku", "HASH")], ["sku"]),
        settings.orders_table: ([("orderId", "HASH"), ("record", "RANGE")], ["orderId", "record"]),
    }
    for name, (keys, attributes) in tables.items():
        if name in existing:
            continue
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.get_waiter("table_exists").wait(TableName=name)


def queue_url(sqs: Any, name_or_url: str) -> str:
    if name_or_url.startswith(("http://", "https://")):
        return name_or_url
    return str(sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"])


def _queue_with_dlq(sqs: Any, name: str, dlq_name: str) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={
            "RedrivePolicy": json.dumps(redrive),
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        },
    )["QueueUrl"]
    return queue, dlq


def ensure_queues(sqs: Any, settings: Settings) -> QueueUrls:
    intake, dlq = _queue_with_dlq(sqs, settings.intake_queue, settings.dlq)
    events, events_dlq = _queue_with_dlq(sqs, settings.events_queue, settings.events_dlq)
    return QueueUrls(intake=intake, dlq=dlq, events=events, events_dlq=events_dlq)


def ensure_sender(sesv2: Any, settings: Settings) -> None:
    identities = sesv2.list_email_identities().get("EmailIdentities", [])
    if settings.sender_email not in {i["IdentityName"] for i in identities}:
        sesv2.create_email_identity(EmailIdentity=settings.sender_email)


def ensure_all(clients: AwsClients, settings: Settings) -> QueueUrls:
    ensure_tables(clients.dynamodb, settings)
    ensure_sender(clients.sesv2, settings)
    return ensure_queues(clients.sqs, settings)
