"""The post-deploy smoke check's queue and canary logic, against the session's moto server.

Not `mock_aws`: it resets moto's in-process backends on exit, which would wipe the tables and
queues the session's shared emulator serves to every later test."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from infra.smoke import check_queues, outputs_of, run_canary
from oms.orders.models import parse_order


@pytest.fixture
def sqs(moto_endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=moto_endpoint, region_name="eu-west-1")


def queues(sqs: Any) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return (
        sqs.create_queue(QueueName=f"smoke-intake-{tag}")["QueueUrl"],
        sqs.create_queue(QueueName=f"smoke-dlq-{tag}")["QueueUrl"],
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_canary_passes_once_the_starter_took_its_order(sqs: Any) -> None:
    intake, dlq = queues(sqs)
    clock = FakeClock()
    taken: list[str] = []

    def starter_consumes(seconds: float) -> None:  # stands in for the Lambda between polls
        clock.now += seconds
        for message in sqs.receive_message(QueueUrl=intake).get("Messages", []):
            taken.append(message["Body"])
            sqs.delete_message(QueueUrl=intake, ReceiptHandle=message["ReceiptHandle"])

    check = run_canary(
        sqs, intake, dlq, "orders@shop.example.com", clock=clock, pause=starter_consumes
    )

    assert check.ok, check.detail
    (body,) = taken
    order = parse_order(body)  # a valid order, as the real starter will parse it
    assert order.order_id.startswith("SMOKE-")
    assert order.customer.email == "orders@shop.example.com"


def test_the_canary_fails_when_nothing_consumes_the_queue(sqs: Any) -> None:
    intake, dlq = queues(sqs)
    clock = FakeClock()

    def time_passes(seconds: float) -> None:
        clock.now += seconds

    check = run_canary(sqs, intake, dlq, "orders@shop.example.com", clock=clock, pause=time_passes)

    assert not check.ok
    assert "still on the intake queue" in check.detail


def test_a_dead_letter_only_warns_in_the_queue_check(sqs: Any) -> None:
    """Old dead letters are not the deploy's fault: they must not fail every deploy."""
    intake, dlq = queues(sqs)
    assert not check_queues(sqs, intake, dlq).warning
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")

    check = check_queues(sqs, intake, dlq)

    assert check.ok
    assert check.warning
    assert "1 dead letter" in check.detail


def test_the_canary_fails_on_a_new_dead_letter_not_on_old_ones(sqs: Any) -> None:
    intake, dlq = queues(sqs)
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")  # from before this deploy
    clock = FakeClock()

    def starter_dead_letters(seconds: float) -> None:
        clock.now += seconds
        for message in sqs.receive_message(QueueUrl=intake).get("Messages", []):
            sqs.send_message(QueueUrl=dlq, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=intake, ReceiptHandle=message["ReceiptHandle"])

    check = run_canary(
        sqs, intake, dlq, "orders@shop.example.com", clock=clock, pause=starter_dead_letters
    )

    assert not check.ok
    assert "grew to 2" in check.detail


def test_outputs_are_read_from_cdk_deploy_outputs_file(tmp_path: Any) -> None:
    path = tmp_path / "cdk-outputs.json"
    path.write_text(json.dumps({"OmsOnTemporal": {"IntakeQueueUrl": "https://q"}}))

    assert outputs_of(path) == {"IntakeQueueUrl": "https://q"}
