"""The parcel plan: which warehouse sends which units of an order. Pure; no I/O.

Fewest parcels first: the smallest set of warehouses that can serve every line wins; among sets
of one size, the one listed first in the stock's warehouse order (`main` first, then by name).
A line is kept whole in one warehouse whenever one warehouse of the set holds all of it, and only
split across the set's warehouses when none does. An order that `main` can serve alone is one
parcel from `main`, as before stock lived per warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Final

MAIN: Final = "main"
MAX_WAREHOUSES: Final = 12  # 4,095 subsets at most: exact, and cheap enough in an activity


@dataclass(frozen=True)
class PlannedParcel:
    number: int  # 1, 2, ... in the plan's warehouse order
    warehouse: str
    lines: dict[str, int] = field(default_factory=dict)  # sku -> units


class NoPlanError(Exception):
    """The warehouses together hold too few units of these SKUs."""

    def __init__(self, short: list[str]) -> None:
        super().__init__(f"not enough stock for {', '.join(short)}")
        self.short = short


Stock = Mapping[str, Mapping[str, int]]  # warehouse -> sku -> units available


def warehouse_order(names: Sequence[str] | set[str]) -> list[str]:
    return sorted(set(names), key=lambda name: (name != MAIN, name))


def plan_parcels(lines: Mapping[str, int], stock: Stock) -> list[PlannedParcel]:
    """One parcel per warehouse of the smallest set that holds every line; `NoPlanError` when
    even all the warehouses together cannot."""
    order = warehouse_order([w for w, units in stock.items() if any(units.values())])
    short = [sku for sku, q in lines.items() if sum(stock[w].get(sku, 0) for w in order) < q]
    if short:
        raise NoPlanError(sorted(short))
    candidates = order[:MAX_WAREHOUSES]
    for size in range(1, len(candidates) + 1):
        for chosen in combinations(candidates, size):
            if _serves(chosen, lines, stock):
                return _assign(chosen, lines, stock)
    # More warehouses than are searched exactly: all of them serve it (checked above).
    return _assign(tuple(order), lines, stock)


def _serves(chosen: Sequence[str], lines: Mapping[str, int], stock: Stock) -> bool:
    return all(sum(stock[w].get(sku, 0) for w in chosen) >= q for sku, q in lines.items())


def _assign(chosen: Sequence[str], lines: Mapping[str, int], stock: Stock) -> list[PlannedParcel]:
    takes: dict[str, dict[str, int]] = {w: {} for w in chosen}
    for sku, quantity in lines.items():
        whole = next((w for w in chosen if stock[w].get(sku, 0) >= quantity), None)
        if whole is not None:
            takes[whole][sku] = quantity
            continue
        left = quantity  # no single warehouse holds it: the largest holdings first
        for w in sorted(chosen, key=lambda w: -stock[w].get(sku, 0)):
            take = min(left, stock[w].get(sku, 0))
            if take:
                takes[w][sku] = take
                left -= take
    used = [w for w in chosen if takes[w]]
    return [PlannedParcel(n, w, takes[w]) for n, w in enumerate(used, start=1)]
