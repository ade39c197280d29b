"""Shipment: prepare a package (package id), ship it (tracking number), cancel a prepared one.

A simulated carrier, recorded in the order ledger so each step is idempotent: a retried
preparation returns the same package, a retried shipment the same tracking number. Shipping
marks the package shipped and takes its units off `reserved` in one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from oms.orders.activities.inventory import compensated
from oms.orders.contract import ErrorType
from oms.orders.ledger import Ledger, TransactionConflictError
from oms.orders.payloads import (
    CompensationResult,
    OrderRef,
    ParcelHandoff,
    PrepareInput,
    PrepareResult,
    ShipInput,
    ShipResult,
)
from oms.orders.records import Package, ParcelPackage, RecordState, Reservation, now_iso

# A business answer, not a fault: logged without a traceback, not counted as a failure.
BENIGN = ApplicationErrorCategory.BENIGN


def _package_id() -> str:
    return f"PKG-{uuid.uuid4().hex[:12].upper()}"


def _tracking(country: str) -> str:
    return f"TRK{uuid.uuid4().int % 10**12:012d}{country}"


class Handoff(Protocol):
    """Follows a shipped parcel to the customer's door (`oms.delivery.handoff`, wired in by the
    worker so orders never import deliveries). Idempotent: a retried ship calls it again."""

    def __call__(self, order_id: str, tracking_number: str, parcel: ParcelHandoff) -> None: ...


class ShippingActivities:
    def __init__(self, *, ledger: Ledger, handoff: Handoff | None = None) -> None:
        self._ledger = ledger
        self._handoff = handoff

    def _shipped(self, request: ShipInput, package: Package) -> ShipResult:
        tracking_number = str(package.tracking_number)
        if self._handoff is not None and request.handoff is not None:
            self._handoff(request.order_id, tracking_number, request.handoff)
        tracked = {p.number: p.tracking_number for p in package.parcels}
        for parcel in request.parcels:
            if self._handoff is not None:
                self._handoff(request.order_id, str(tracked[parcel.number]), parcel)
        return ShipResult(tracking_number=tracking_number)

    @activity.defn
    def prepare_shipment(self, request: PrepareInput) -> PrepareResult:
        parcels = [
            ParcelPackage(number=p.number, warehouse=p.warehouse, package_id=_package_id())
            for p in request.parcels
        ]
        package = Package(
            order_id=request.order_id,
            status=RecordState.PREPARED,
            package_id=parcels[0].package_id if parcels else _package_id(),
            parcels=parcels,
        )
        if not self._ledger.put_new(package):
            existing = self._ledger.get(Package, request.order_id)
            if existing is None or existing.package_id is None:
                raise compensated("shipment", request.order_id)
            package = existing
        activity.logger.info("prepared package for order %s", request.order_id)
        return PrepareResult(package_id=str(package.package_id))

    @activity.defn
    def ship(self, request: ShipInput) -> ShipResult:
        ledger = self._ledger
        package = ledger.get(Package, request.order_id)
        if package is not None and package.status == RecordState.PREPARED:
            reservation = ledger.get(Reservation, request.order_id)
            if reservation is not None and reservation.status == RecordState.ACTIVE:
                tracking = _tracking(request.country)
                parcels = [
                    p.model_copy(update={"tracking_number": _tracking(request.country)})
                    for p in package.parcels
                ]
                if parcels:
                    tracking = str(parcels[0].tracking_number)
                shipped: dict[str, Any] = {"trackingNumber": tracking, "shippedAt": now_iso()}
                if parcels:
                    shipped["parcels"] = [p.model_dump(by_alias=True) for p in parcels]
                try:
                    ledger.transact(
                        [
                            ledger.tx_transition(
                                request.order_id,
                                Package.KIND,
                                RecordState.PREPARED,
                                RecordState.SHIPPED,
                                shipped,
                            ),
                            ledger.tx_transition(
                                request.order_id,
                                Reservation.KIND,
                                RecordState.ACTIVE,
                                RecordState.CONSUMED,
                            ),
                            *(
                                ledger.tx_stock(sku, reserved=-q, warehouse=w)
                                for sku, w, q in reservation.takes()
                            ),
                        ]
                    )
                except TransactionConflictError:
                    pass  # a concurrent attempt shipped it, or it was cancelled: read again
                else:
                    activity.logger.info("shipped order %s", request.order_id)
                    return self._shipped(
                        request,
                        package.model_copy(
                            update={"tracking_number": tracking, "parcels": parcels}
                        ),
                    )
            package = ledger.get(Package, request.order_id)
        if (
            package is not None
            and package.status == RecordState.SHIPPED
            and package.tracking_number
        ):
            return self._shipped(request, package)
        state = package.status.lower() if package else "not prepared"
        raise ApplicationError(
            f"package of order {request.order_id} cannot ship: {state}",
            type=ErrorType.ALREADY_COMPENSATED,
            non_retryable=True,
            category=BENIGN,
        )

    @activity.defn
    def cancel_shipment(self, request: OrderRef) -> CompensationResult:
        undo = self._ledger.undo(
            Package, request.order_id, active=RecordState.PREPARED, undone=RecordState.CANCELLED
        )
        return CompensationResult(undone=undo.undone, detail=undo.detail)
