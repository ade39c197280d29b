"""A dead letter that another reader holds in flight is still counted: never a false
all-clear from `oms dlq list` or `oms doctor`."""

from __future__ import annotations

import uuid
from typing import Any

from oms.aws import AwsClients
from oms.ops.dlq import peek
from oms.ops.doctor import Doctor


def _dlq_with_one_in_flight(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName=f"inflight-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for n in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=f'{{"n": {n}}}', MessageAttributes={
            "oms.reason": {"DataType": "String", "StringValue": "invalid: test"},
        })  # fmt: skip
    # Another reader (a redrive, a second `oms dlq list`) holds one for a while.
    held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=120)
    assert len(held["Messages"]) == 1
    return url


def test_the_list_counts_letters_in_flight_elsewhere(clients: AwsClients) -> None:
    url = _dlq_with_one_in_flight(clients.sqs)

    found = peek(clients.sqs, url)

    assert (len(found.letters), found.in_flight) == (1, 1)


async def test_doctor_reports_letters_in_flight_elsewhere(clients: AwsClients) -> None:
    url = _dlq_with_one_in_flight(clients.sqs)
    # Only the dead-letter check runs here: it needs nothing but the queue.
    doctor = Doctor(orders=None, ledger=None, sqs=clients.sqs, dlq_url=url)  # type: ignore[arg-type]

    findings = await doctor.dead_letters()

    assert len(findings) == 2
    assert "1 dead letter(s) in flight" in findings[1].detail
