"""What the order ledger keeps: one item per (order, record), typed.

Each step writes its record with a condition, so a retried or late attempt sees what was done;
a compensation moves a record to its undone status, or writes a tombstone in that status when
nothing was done, so an attempt still running somewhere can never take effect afterwards.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from oms.parcels.plan import MAIN
from oms.records import Record, RecordState, now_iso

__all__ = [
    "Record",
    "RecordState",
    "now_iso",
]  # the ledger's base, re-exported for the order's code


class OrderEntry(Record):
    """Every order id ever received, with its body's fingerprint: duplicate detection that
    outlives Temporal's retention. `claimed` is set by the intake before it starts the workflow;
    a cancellation that arrives before that is kept in `cancel_reason`."""

    KIND = "ORDER"
    fingerprint: str | None = None
    claimed: bool = False
    started: bool = False
    cancel_reason: str | None = None


class ParcelLines(BaseModel):
    """One parcel of a reservation: the units its warehouse holds for the order."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    number: int
    warehouse: str
    lines: dict[str, int]


class Reservation(Record):
    KIND = "RESERVATION"
    lines: dict[str, int] = Field(default_factory=dict)
    revision: int = 0  # edits applied (§6g): an edit's retry finds its revision and stops
    # One entry per warehouse (§6d). Empty: every line from `main`, as before warehouses.
    parcels: list[ParcelLines] = Field(default_factory=list)

    def takes(self) -> list[tuple[str, str, int]]:
        """(sku, warehouse, units) the reservation holds."""
        if not self.parcels:
            return [(sku, MAIN, q) for sku, q in self.lines.items()]
        return [(s, p.warehouse, q) for p in self.parcels for s, q in p.lines.items()]

    @property
    def split(self) -> bool:
        return len(self.parcels) > 1 or any(p.warehouse != MAIN for p in self.parcels)

    # Units still owed by a supplier per SKU (§6f): reserved into `lines` when they arrive.
    owed: dict[str, int] = Field(default_factory=dict)


class Payment(Record):
    """The simulated provider's books of one order (decimal amounts as DynamoDB numbers; the
    gateway computes in minor units through `oms.orders.payment_book`)."""

    KIND = "PAYMENT"
    authorization_id: str | None = None
    amount: Decimal = Decimal("0")
    currency: str = ""
    captured: Decimal = Decimal("0")
    refunded: Decimal = Decimal("0")
    hold_expires_at: str | None = None  # when the current hold lapses (ISO 8601, UTC)
    holds: int = 1  # authorizations made; a renewal after expiry voids the old one
    revision: int = 0  # the order edit whose total the hold covers (§6g)


class PaymentAttempts(Record):
    """Counts attempts of the simulated gateway's flaky token."""

    KIND = "PAYMENT_ATTEMPTS"
    attempts: int = 0


class Refund(Record):
    """One refund, keyed by its idempotency key (`REFUND#<key>`)."""

    KIND = "REFUND"
    refund_id: str
    amount: Decimal
    parcel: int | None = None  # a split order's parcel whose capture this refund gives back


class ParcelPackage(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    number: int
    warehouse: str
    package_id: str
    tracking_number: str | None = None


class Package(Record):
    """The order's shipment; a split order's parcels ride in `parcels` (one package id and
    tracking number each), so the whole shipment prepares, ships or cancels in one write."""

    KIND = "PACKAGE"
    package_id: str | None = None
    tracking_number: str | None = None
    shipped_at: str | None = None
    parcels: list[ParcelPackage] = Field(default_factory=list)


class ParcelCapture(Record):
    """One parcel's capture of a split order (`CAPTURE#<n>`): written once, with the books."""

    KIND = "CAPTURE"
    amount: Decimal
    refunded: Decimal = Decimal("0")  # what refunds of this parcel gave back (never > amount)


class StockLevel(BaseModel):
    sku: str
    available: int
    reserved: int = 0
    warehouse: str = MAIN
    # Backorders allowed from this supplier (§6f; `oms inventory set --supplier`); on `main`.
    supplier: str | None = None
    purchase_orders: int | None = Field(None, alias="purchaseOrders", exclude=True)


class Leftover(Record):
    """Units of a purchase order no waiting order took, added to stock once (§6f)."""

    KIND = "LEFTOVER"
    quantity: int = 0
