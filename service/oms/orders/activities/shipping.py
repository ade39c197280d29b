"""Shipment: prepare a package (package id), ship it (tracking number), cancel a prepared one.

Simulated carrier, recorded in the order ledger so each step is idempotent: a retried
preparation returns the same package, a retried shipment the same tracking number.
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.orders.activities.inventory import consume_reservation
from oms.orders.contract import ErrorType
from oms.orders.ledger import (
    CONDITION_FAILED,
    PACKAGE,
    Ledger,
    compensated,
    now_iso,
    simulate_latency,
    text,
)
from oms.orders.payloads import (
    CompensationResult,
    OrderRef,
    PrepareInput,
    PrepareResult,
    ShipInput,
    ShipResult,
)

PREPARED = "PREPARED"
SHIPPED = "SHIPPED"
CANCELLED = "CANCELLED"


class ShippingActivities:
    def __init__(
        self, *, dynamodb: Any, ledger: Ledger, inventory_table: str, latency: float = 0.0
    ) -> None:
        self._dynamodb = dynamodb
        self._ledger = ledger
        self._inventory_table = inventory_table
        self._latency = latency

    @activity.defn
    def prepare_shipment(self, request: PrepareInput) -> PrepareResult:
        simulate_latency(self._latency)
        package_id = f"PKG-{uuid.uuid4().hex[:12].upper()}"
        attributes = {"status": text(PREPARED), "packageId": text(package_id), "at": now_iso()}
        if self._ledger.put_new(request.order_id, PACKAGE, attributes):
            activity.logger.info("prepared package %s for %s", package_id, request.order_id)
            return PrepareResult(package_id=package_id)
        existing = self._ledger.get(request.order_id, PACKAGE) or {}
        if existing.get("status", {}).get("S") == CANCELLED:
            raise compensated("shipment", request.order_id)
        return PrepareResult(package_id=existing["packageId"]["S"])

    @activity.defn
    def ship(self, request: ShipInput) -> ShipResult:
        simulate_latency(self._latency)
        existing = self._ledger.get(request.order_id, PACKAGE) or {}
        if existing.get("status", {}).get("S") == PREPARED:
            tracking = self._ship(request)
            if tracking is not None:
                activity.logger.info("shipped order %s", request.order_id)
                return ShipResult(tracking_number=tracking)
            existing = self._ledger.get(request.order_id, PACKAGE) or {}
        state = existing.get("status", {}).get("S")
        if state == SHIPPED:
            return ShipResult(tracking_number=existing["trackingNumber"]["S"])
        raise ApplicationError(
            f"package of order {request.order_id} cannot ship: {state or 'not prepared'}",
            type=ErrorType.ALREADY_COMPENSATED,
            non_retryable=True,
        )

    def _ship(self, request: ShipInput) -> str | None:
        """Hand the package over and take its units off the books, in one transaction."""
        tracking = f"TRK{uuid.uuid4().int % 10**12:012d}{request.country}"
        package = {
            "Update": {
                "TableName": self._ledger.table,
                "Key": Ledger.key(request.order_id, PACKAGE),
                "UpdateExpression": "SET #s = :shipped, trackingNumber = :t, shippedAt = :at",
                "ConditionExpression": "#s = :prepared",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":shipped": text(SHIPPED),
                    ":prepared": text(PREPARED),
                    ":t": text(tracking),
                    ":at": now_iso(),
                },
            }
        }
        stock = consume_reservation(self._ledger, self._inventory_table, request.order_id)
        try:
            self._dynamodb.transact_write_items(TransactItems=[package, *stock])
        except self._dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if any(r.get("Code") == CONDITION_FAILED for r in reasons):
                return None  # a concurrent attempt shipped it, or it was cancelled
            raise
        return tracking

    @activity.defn
    def cancel_shipment(self, request: OrderRef) -> CompensationResult:
        simulate_latency(self._latency)
        for _ in range(5):  # each pass either finishes or lost a race to a concurrent writer
            existing = self._ledger.get(request.order_id, PACKAGE)
            if existing is None:
                if self._ledger.put_new(request.order_id, PACKAGE, {"status": text(CANCELLED)}):
                    return CompensationResult(undone=False, detail="nothing was prepared")
                continue
            state = existing["status"]["S"]
            if state == CANCELLED:
                return CompensationResult(undone=False, detail="already cancelled")
            if state == SHIPPED:
                raise ApplicationError(
                    f"order {request.order_id} has shipped; it cannot be cancelled",
                    type=ErrorType.ALREADY_SHIPPED,
                    non_retryable=True,
                )
            if self._ledger.transition(
                request.order_id, PACKAGE, expected=PREPARED, status=CANCELLED
            ):
                return CompensationResult(undone=True, detail="package cancelled")
        raise RuntimeError(f"package of order {request.order_id} kept changing; retrying")
