"""The public contract of purchase orders: ids, handler names, states, supplier statuses.

Workflow id `po-<supplier>-<sku>-<n>`: `n` counts the purchase orders of that (supplier, SKU),
kept on the SKU's stock item, so a SKU has one purchase order collecting demand at a time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

PURCHASE_ORDER_PREFIX: Final = "po-"
PURCHASE_ORDER_WORKFLOW_TYPE: Final = "PurchaseOrderWorkflow"

ADD_DEMAND_UPDATE: Final = "add_demand"  # an order's shortfall (update-with-start: race-free)
WITHDRAW_SIGNAL: Final = "withdraw_demand"  # a waiting order was cancelled
SUPPLIER_EVENT_SIGNAL: Final = "supplier_event"  # routed from the events queue
STATUS_QUERY: Final = "status"


def purchase_order_id(supplier: str, sku: str, number: int) -> str:
    return f"{PURCHASE_ORDER_PREFIX}{supplier}-{sku}-{number}"


class SupplierStatus(StrEnum):
    """What a supplier's event says (`{"type": "supplierEvent", "status": ...}`)."""

    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    DELIVERED = "DELIVERED"


class PurchaseOrderState(StrEnum):
    COLLECTING = "COLLECTING"  # taking demand until the collection window ends
    PLACED = "PLACED"  # sent to the supplier, no answer yet
    CONFIRMED = "CONFIRMED"  # the supplier gave an ETA
    RECEIVED = "RECEIVED"  # every waiting order was filled (the rest went to stock)
    FAILED = "FAILED"  # rejected, unconfirmed in time, or late past the grace
    CANCELLED = "CANCELLED"  # every order withdrew before it was placed

    @property
    def terminal(self) -> bool:
        return self in (
            PurchaseOrderState.RECEIVED,
            PurchaseOrderState.FAILED,
            PurchaseOrderState.CANCELLED,
        )


class PurchaseStep(StrEnum):
    PLACE = "place_purchase_order"
    FILL = "fill_backorders"
    RELEASE_LEFTOVER = "release_leftover"
