"""`oms intake`: the local stand-in for Lambda's SQS event source mapping.

Long-polls the intake queue (batches of up to 10), calls the starter's `lambda_handler` with
the same event shape Lambda uses, deletes the records that succeeded and leaves the failed
ones for redelivery (their visibility shortened, so a local outage heals in seconds); SQS's
redrive policy moves a record to the DLQ after the receive limit, as in AWS.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("oms.intake.bridge")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class LocalContext:
    """The fields of a Lambda context that Powertools reads."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "oms-intake-local"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:oms-intake-local"
    memory_limit_in_mb: int = 0
    log_group_name: str = "local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS ReceiveMessage result in the shape of a Lambda SQS event record."""
    attributes = {
        name: {
            "dataType": value["DataType"],
            **({"stringValue": value["StringValue"]} if "StringValue" in value else {}),
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


@dataclass
class BatchReport:
    received: int = 0
    failed: int = 0


class IntakeBridge:
    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        wait_seconds: int = 2,
        retry_delay_seconds: int = 3,
    ) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._handler = handler
        self._wait = wait_seconds
        self._retry_delay = retry_delay_seconds
        self._arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._region = sqs.meta.region_name

    def poll_once(self) -> BatchReport:
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self._wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return BatchReport()
        event = {"Records": [lambda_record(m, self._arn, self._region) for m in messages]}
        try:
            response = self._handler(event, LocalContext())
        except Exception:  # as in Lambda, a crashed invocation fails the whole batch
            log.exception("intake handler failed")
            response = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        if retry:
            log.warning(
                "%d of %d records failed; retrying in %ss",
                len(retry),
                len(messages),
                self._retry_delay,
            )
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self._retry_delay,
                    }
                    for i, m in enumerate(retry)
                ],
            )
        return BatchReport(received=len(messages), failed=len(retry))

    def run(self, stop: threading.Event) -> None:
        log.info("intake bridge polling %s", self._url)
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep serving: a local outage must not kill the bridge
                log.exception("intake poll failed; retrying")
                stop.wait(self._retry_delay)
        log.info("intake bridge stopped")
