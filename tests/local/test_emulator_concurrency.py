"""The emulator's DynamoDB transactions stay atomic when many clients write at once, as
DynamoDB's do: a transaction that fails (a condition, a duplicate) must not undo what other
transactions did meanwhile."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

STOCK = 300
ATTEMPTS = 600  # twice the stock, and a third of them repeat an earlier reservation id
THREADS = 24


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """The emulator runs in this process: switching threads every few microseconds instead of
    every 5 ms makes interleavings that a busy machine produces now and then happen every run."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.fixture
def dynamodb(moto_endpoint: str) -> Any:
    config = Config(max_pool_connections=THREADS, retries={"max_attempts": 1})
    return boto3.client("dynamodb", endpoint_url=moto_endpoint, config=config)


def _reserve(dynamodb: Any, table: str, reservation: str) -> bool:
    """One unit from `available` to `reserved`, with a marker that makes it idempotent (the
    ledger's reservation, reduced to its shape)."""
    try:
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": f"res#{reservation}"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": table, "Key": {"pk": {"S": "stock"}},
                        "UpdateExpression": "SET available = available - :one, "
                                            "reserved = reserved + :one",
                        "ConditionExpression": "available >= :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ])  # fmt: skip
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        return False
    return True


@pytest.mark.usefixtures("eager_thread_switches")
def test_concurrent_reservations_neither_lose_nor_invent_stock(dynamodb: Any) -> None:
    # Given one stock item and many clients reserving from it at once, some of them twice
    table = f"t-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )  # fmt: skip
    dynamodb.put_item(TableName=table, Item={
        "pk": {"S": "stock"}, "available": {"N": str(STOCK)}, "reserved": {"N": "0"},
    })  # fmt: skip
    ids = [f"r{n % (ATTEMPTS * 2 // 3)}" for n in range(ATTEMPTS)]

    # When they all reserve concurrently
    with ThreadPoolExecutor(THREADS) as pool:
        accepted = sum(pool.map(lambda r: _reserve(dynamodb, table, r), ids))

    # Then every unit is accounted for: what was accepted is reserved and marked, once
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "stock"}}, ConsistentRead=True)
    available = int(item["Item"]["available"]["N"])
    reserved = int(item["Item"]["reserved"]["N"])
    markers = dynamodb.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"] - 1
    assert (available, reserved) == (STOCK - accepted, accepted)
    assert markers == accepted
    assert accepted == STOCK  # 400 distinct ids asked for 300 units: all were sold
