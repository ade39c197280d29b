"""The supplier's asynchronous API, behind an interface a real supplier's client can replace.

`RecordedSupplier` is the emulated API: placing an order writes a `SUPPLIER_ORDER` record (once
per purchase order id, so a retried placement is the same order); the supplier answers later,
through the events queue (`oms.local.supplier` emulates it locally, `oms supplier event` by hand).
"""

from __future__ import annotations

from typing import Protocol

from oms.records import Record, RecordState, RecordStore


class SupplierOrder(Record):
    """An order as the (emulated) supplier received it, keyed by the purchase order id."""

    KIND = "SUPPLIER_ORDER"
    supplier: str
    sku: str
    quantity: int


class SupplierApi(Protocol):
    def place(self, purchase_order_id: str, supplier: str, sku: str, quantity: int) -> str:
        """Send the order; the supplier's reference. Idempotent per purchase order id."""
        ...


class RecordedSupplier:
    def __init__(self, ledger: RecordStore) -> None:
        self._ledger = ledger

    def place(self, purchase_order_id: str, supplier: str, sku: str, quantity: int) -> str:
        self._ledger.put_new(
            SupplierOrder(
                order_id=purchase_order_id,
                status=RecordState.ACTIVE,
                supplier=supplier,
                sku=sku,
                quantity=quantity,
            )
        )
        return f"{supplier}:{purchase_order_id}"
