"""Which delivery a tracking number belongs to: what the events intake routes carrier events by.

One ledger item per tracking number (`orderId` = the tracking number, record `TRACKING`), written
when a parcel is handed to the carrier (and when one is reshipped); idempotent.
"""

from __future__ import annotations

from oms.orders.ledger import Ledger
from oms.records import Record, RecordState

TRACKING_PREFIX = "tracking#"


class Tracking(Record):
    KIND = "TRACKING"
    delivery_id: str


class TrackingBook:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def register(self, tracking_number: str, delivery_id: str) -> None:
        self._ledger.put_new(
            Tracking(
                order_id=f"{TRACKING_PREFIX}{tracking_number}",
                status=RecordState.SHIPPED,
                delivery_id=delivery_id,
            )
        )

    def delivery_of(self, tracking_number: str) -> str | None:
        found = self._ledger.get(Tracking, f"{TRACKING_PREFIX}{tracking_number}")
        return None if found is None else found.delivery_id
