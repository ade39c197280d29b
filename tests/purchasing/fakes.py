"""Fakes for purchase order tests: an order that only listens for backorder news, activities
that keep their effects in memory, and purchase order numbers in a dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import activity, workflow

from oms.orders.backorder_wire import BackorderNews
from oms.orders.contract import BACKORDER_SIGNAL
from oms.purchasing.payloads import (
    FillInput,
    FillResult,
    LeftoverInput,
    LeftoverResult,
    PlaceInput,
    PlaceResult,
)


@workflow.defn(name="ListeningOrder")
class ListeningOrder:
    """Stands in for an order waiting BACKORDERED: ends at FILLED or FAILED with what it heard."""

    def __init__(self) -> None:
        self.news: list[BackorderNews] = []

    @workflow.run
    async def run(self) -> list[BackorderNews]:
        await workflow.wait_condition(
            lambda: any(n.status in ("FILLED", "FAILED") for n in self.news)
        )
        return self.news

    @workflow.signal(name=BACKORDER_SIGNAL)
    def hear(self, news: BackorderNews) -> None:
        self.news.append(news)


@dataclass
class FakeSupplierSide:
    placed: list[PlaceInput] = field(default_factory=list)
    fills: list[FillInput] = field(default_factory=list)
    leftovers: list[LeftoverInput] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # orders cancelled behind the purchase order's back

    def activities(self) -> list[Any]:
        @activity.defn(name="place_purchase_order")
        async def place(request: PlaceInput) -> PlaceResult:
            self.placed.append(request)
            return PlaceResult(reference=f"ref-{request.purchase_order_id}")

        @activity.defn(name="fill_backorders")
        async def fill(request: FillInput) -> FillResult:
            self.fills.append(request)
            ids = [f.order_id for f in request.fills]
            return FillResult(
                filled=[i for i in ids if i not in self.gone],
                gone=[i for i in ids if i in self.gone],
            )

        @activity.defn(name="release_leftover")
        async def leftover(request: LeftoverInput) -> LeftoverResult:
            self.leftovers.append(request)
            return LeftoverResult(added=request.quantity)

        return [place, fill, leftover]


@dataclass
class Numbers:
    """`PurchaseOrderNumbers` in memory."""

    current: dict[str, int] = field(default_factory=dict)

    def purchase_order_number(self, sku: str) -> int:
        return self.current.get(sku, 1)

    def advance_purchase_order(self, sku: str, seen: int) -> None:
        if self.current.get(sku, 1) == seen:
            self.current[sku] = seen + 1
