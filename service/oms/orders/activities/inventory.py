"""Inventory on DynamoDB: all-or-nothing reservation of every line, idempotent release.

One transaction decrements every line's stock under the condition `available >= quantity`
and creates the order's RESERVATION record under `attribute_not_exists`. Either all of it
commits or none of it, so stock never goes negative, even with concurrent orders for the last
units; a retried attempt finds its own record and does nothing (moto ignores
ClientRequestToken, and records make the idempotency visible and durable anyway).
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.orders.contract import ErrorType
from oms.orders.ledger import (
    CONDITION_FAILED,
    NEW_RECORD,
    RESERVATION,
    Ledger,
    compensated,
    now_iso,
    simulate_latency,
    status_of,
    text,
)
from oms.orders.payloads import CompensationResult, OrderRef, ReserveInput, ReserveResult

ACTIVE = "ACTIVE"
RELEASED = "RELEASED"
CONSUMED = "CONSUMED"  # shipped: the reserved units left the warehouse


def _end_reservation(ledger: Ledger, order_id: str, status: str) -> dict[str, Any]:
    """Transaction item: the reservation goes from ACTIVE to `status`, or the transaction fails."""
    return {
        "Update": {
            "TableName": ledger.table,
            "Key": Ledger.key(order_id, RESERVATION),
            "UpdateExpression": "SET #s = :to",
            "ConditionExpression": "#s = :active",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":to": text(status), ":active": text(ACTIVE)},
        }
    }


def consume_reservation(
    ledger: Ledger, inventory_table: str, order_id: str
) -> list[dict[str, Any]]:
    """Transaction items that turn the order's reservation into shipped units: the record goes
    ACTIVE -> CONSUMED and each line's `reserved` count drops. Used by the ship step, so a
    package ships and its stock leaves the books atomically."""
    record = ledger.get(order_id, RESERVATION)
    if status_of(record) != ACTIVE or record is None:
        raise ApplicationError(
            f"order {order_id} has no active reservation to ship",
            type=ErrorType.ALREADY_COMPENSATED,
            non_retryable=True,
        )
    marker = _end_reservation(ledger, order_id, CONSUMED)
    shipped = [
        {
            "Update": {
                "TableName": inventory_table,
                "Key": {"sku": text(sku)},
                "UpdateExpression": "SET reserved = reserved - :q",
                "ExpressionAttributeValues": {":q": {"N": value["N"]}},
            }
        }
        for sku, value in record["lines"]["M"].items()
    ]
    return [marker, *shipped]


class InventoryActivities:
    def __init__(
        self, *, dynamodb: Any, inventory_table: str, ledger: Ledger, latency: float = 0.0
    ) -> None:
        self._dynamodb = dynamodb
        self._table = inventory_table
        self._ledger = ledger
        self._latency = latency

    @activity.defn
    def reserve_inventory(self, request: ReserveInput) -> ReserveResult:
        simulate_latency(self._latency)
        stock_updates = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"sku": text(line.sku)},
                    "UpdateExpression": "SET available = available - :q, "
                    "reserved = if_not_exists(reserved, :zero) + :q",
                    "ConditionExpression": "available >= :q",
                    "ExpressionAttributeValues": {
                        ":q": {"N": str(line.quantity)},
                        ":zero": {"N": "0"},
                    },
                }
            }
            for line in request.lines
        ]
        marker = {
            "Put": {
                "TableName": self._ledger.table,
                "Item": {
                    **Ledger.key(request.order_id, RESERVATION),
                    "status": text(ACTIVE),
                    "lines": {"M": {line.sku: {"N": str(line.quantity)} for line in request.lines}},
                    "at": now_iso(),
                },
                "ConditionExpression": NEW_RECORD,
            }
        }
        try:
            self._dynamodb.transact_write_items(TransactItems=[*stock_updates, marker])
        except self._dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[-1].get("Code") == CONDITION_FAILED:
                return self._existing_reservation(request.order_id)
            short = [
                line.sku
                for line, reason in zip(request.lines, reasons, strict=False)
                if reason.get("Code") == CONDITION_FAILED
            ]
            if short:
                raise ApplicationError(
                    f"not enough stock for {', '.join(short)}",
                    {"skus": short},
                    type=ErrorType.OUT_OF_STOCK,
                    non_retryable=True,
                ) from None
            raise  # a transaction conflict or throttling: transient, Temporal retries
        activity.logger.info("reserved stock for order %s", request.order_id)
        return ReserveResult(order_id=request.order_id)

    def _existing_reservation(self, order_id: str) -> ReserveResult:
        if status_of(self._ledger.get(order_id, RESERVATION)) == ACTIVE:
            return ReserveResult(order_id=order_id, already_reserved=True)
        raise compensated("reservation", order_id)

    @activity.defn
    def release_inventory(self, request: OrderRef) -> CompensationResult:
        """Return the reserved stock, once. With no reservation, leave a tombstone instead, so a
        reservation attempt still in flight cannot take stock after the order was cancelled."""
        for _ in range(5):  # each pass either finishes or lost a race to a concurrent writer
            record = self._ledger.get(request.order_id, RESERVATION)
            state = status_of(record)
            if state == RELEASED:
                return CompensationResult(undone=False, detail="already released")
            if state == CONSUMED:
                return CompensationResult(undone=False, detail="already shipped")
            if record is None:
                if self._ledger.put_new(request.order_id, RESERVATION, {"status": text(RELEASED)}):
                    return CompensationResult(undone=False, detail="nothing was reserved")
                continue
            if self._release(request.order_id, record):
                activity.logger.info("released stock of order %s", request.order_id)
                return CompensationResult(undone=True, detail="stock released")
        raise RuntimeError(f"reservation of order {request.order_id} kept changing; retrying")

    def _release(self, order_id: str, record: dict[str, Any]) -> bool:
        lines = {sku: value["N"] for sku, value in record["lines"]["M"].items()}
        marker = _end_reservation(self._ledger, order_id, RELEASED)
        restock = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"sku": text(sku)},
                    "UpdateExpression": "SET available = available + :q, reserved = reserved - :q",
                    "ExpressionAttributeValues": {":q": {"N": quantity}},
                }
            }
            for sku, quantity in lines.items()
        ]
        try:
            self._dynamodb.transact_write_items(TransactItems=[marker, *restock])
        except self._dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == CONDITION_FAILED:
                return False
            raise
        return True
