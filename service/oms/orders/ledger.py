"""The order ledger: one DynamoDB item per (order, record) — what each step did for an order.

Every step writes its record with a condition, so a retried or late attempt can see what was
already done; compensations leave a tombstone when nothing was done, so an attempt that is
still running somewhere can never take effect after its step was compensated.
"""

from __future__ import annotations

import time
from typing import Any, Final

from temporalio.exceptions import ApplicationError

from oms.orders.contract import ErrorType

RESERVATION: Final = "RESERVATION"
CHARGE: Final = "CHARGE"
CHARGE_ATTEMPTS: Final = "CHARGE_ATTEMPTS"
PACKAGE: Final = "PACKAGE"
EMAIL: Final = "EMAIL"

CONDITION_FAILED: Final = "ConditionalCheckFailed"
NEW_RECORD: Final = "attribute_not_exists(orderId)"


class Ledger:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self.table = table

    @staticmethod
    def key(order_id: str, record: str) -> dict[str, Any]:
        return {"orderId": {"S": order_id}, "record": {"S": record}}

    def get(self, order_id: str, record: str) -> dict[str, Any] | None:
        response = self._dynamodb.get_item(
            TableName=self.table, Key=self.key(order_id, record), ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def put_new(self, order_id: str, record: str, attributes: dict[str, Any]) -> bool:
        """Write the record only if it does not exist yet; False if it already did."""
        try:
            self._dynamodb.put_item(
                TableName=self.table,
                Item={**self.key(order_id, record), **attributes},
                ConditionExpression=NEW_RECORD,
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def increment(self, order_id: str, record: str, attribute: str) -> int:
        response = self._dynamodb.update_item(
            TableName=self.table,
            Key=self.key(order_id, record),
            UpdateExpression="ADD #n :one",
            ExpressionAttributeNames={"#n": attribute},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"][attribute]["N"])

    def transition(
        self, order_id: str, record: str, *, expected: str, status: str, **extra: Any
    ) -> bool:
        """Move the record from status `expected` to `status`; False if it was not `expected`."""
        names = {"#s": "status"}
        values: dict[str, Any] = {":expected": {"S": expected}, ":status": {"S": status}}
        sets = ["#s = :status"]
        for index, (name, value) in enumerate(extra.items()):
            names[f"#a{index}"] = name
            values[f":a{index}"] = value
            sets.append(f"#a{index} = :a{index}")
        try:
            self._dynamodb.update_item(
                TableName=self.table,
                Key=self.key(order_id, record),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="#s = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def status_of(item: dict[str, Any] | None) -> str | None:
    return None if item is None else str(item["status"]["S"])


def text(value: str) -> dict[str, str]:
    return {"S": value}


def now_iso() -> dict[str, str]:
    return {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def compensated(what: str, order_id: str) -> ApplicationError:
    """A late attempt of a step that was already compensated: never retried, never applied."""
    return ApplicationError(
        f"{what} of order {order_id} was already compensated",
        type=ErrorType.ALREADY_COMPENSATED,
        non_retryable=True,
    )


def simulate_latency(seconds: float) -> None:
    """The demo's step latency (a setting; zero in tests and benchmarks)."""
    if seconds > 0:
        time.sleep(seconds)
