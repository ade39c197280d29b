"""What travels through Temporal for an order's backorder (§6f), order side."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from oms.process.wire import WireModel

NewsStatus = Literal["CONFIRMED", "FILLED", "FAILED"]


class BackorderLine(WireModel):
    """Units of one line the stock could not cover, and the supplier that will bring them."""

    sku: str
    supplier: str
    quantity: int


class BackorderRequest(WireModel):
    order_id: str
    lines: list[BackorderLine]
    since: datetime  # the order's start: purchase orders fill the oldest first


class BackorderPlaced(WireModel):
    purchase_orders: dict[str, str]  # sku -> purchase order id


class BackorderRef(WireModel):
    order_id: str
    purchase_orders: dict[str, str]  # SKU -> the purchase order that took it
    # What was owed: a SKU missing above (its join's answer came after a cancel) is withdrawn
    # from the purchase orders it may have joined.
    lines: list[BackorderLine] = Field(default_factory=list)


class BackorderNews(WireModel):
    """A purchase order's news for one waiting order (the `backorder_news` signal)."""

    purchase_order_id: str
    sku: str
    status: NewsStatus
    eta: date | None = None
    detail: str | None = None
