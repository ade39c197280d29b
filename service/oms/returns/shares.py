"""Which parcels a return's units come from (§6d: returns count per parcel), as pure functions.

A return of a split order takes its units from delivered parcels only, in parcel order, never
more from a parcel than it delivered minus what earlier returns hold or took from it. What the
warehouse accepts is taken from those shares in the same order, so the refund (per parcel's
capture) and the restock (to the parcel's warehouse) of a return always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from oms.orders.records import ParcelLines
from oms.parcels.plan import MAIN

Held = dict[str, dict[str, int]]  # parcel number (a DynamoDB map key) -> SKU -> units


@dataclass(frozen=True)
class Assignment:
    shares: list[ParcelLines]  # the return's units per parcel it takes from
    short: dict[str, int] = field(default_factory=dict)  # SKU -> units still returnable


def assign(
    delivered: Sequence[ParcelLines],
    lines: Mapping[str, int],
    held: Mapping[str, Mapping[str, int]],
) -> Assignment:
    """Take each line's units from the delivered parcels, first parcel first; `short` names the
    lines that more is asked of than the parcels have left (nothing is taken then)."""
    taken: dict[int, dict[str, int]] = {}
    short: dict[str, int] = {}
    for sku, quantity in lines.items():
        wanted, left_total = quantity, 0
        for parcel in delivered:
            left = parcel.lines.get(sku, 0) - held.get(str(parcel.number), {}).get(sku, 0)
            take = min(max(left, 0), wanted)
            left_total += max(left, 0)
            if take:
                taken.setdefault(parcel.number, {})[sku] = take
                wanted -= take
        if wanted:
            short[sku] = left_total
    if short:
        return Assignment(shares=[], short=short)
    shares = [
        ParcelLines(number=p.number, warehouse=p.warehouse, lines=taken[p.number])
        for p in delivered
        if p.number in taken
    ]
    return Assignment(shares=shares)


def accepted_shares(
    shares: Sequence[ParcelLines], accepted: Mapping[str, int]
) -> list[ParcelLines]:
    """The accepted units per parcel: each SKU's accepted units from the first share on."""
    left = dict(accepted)
    result = []
    for share in shares:
        kept: dict[str, int] = {}
        for sku, quantity in share.lines.items():
            take = min(quantity, left.get(sku, 0))
            left[sku] = left.get(sku, 0) - take
            kept[sku] = take
        result.append(ParcelLines(number=share.number, warehouse=share.warehouse, lines=kept))
    return result


def add_held(held: Held, shares: Sequence[ParcelLines], sign: int = 1) -> Held:
    """`held` with the shares' units added (sign 1) or given back (sign -1, never below 0)."""
    result = {n: dict(units) for n, units in held.items()}
    for share in shares:
        units = result.setdefault(str(share.number), {})
        for sku, quantity in share.lines.items():
            units[sku] = max(units.get(sku, 0) + sign * quantity, 0)
    return result


def restocks(
    shares: Sequence[ParcelLines], accepted: Mapping[str, int]
) -> list[tuple[str, str, int]]:
    """(sku, warehouse, units) the accepted units go back to: the parcels' warehouses, or `main`
    for a return without shares (an order from before parcels)."""
    if not shares:
        return [(sku, MAIN, q) for sku, q in accepted.items() if q]
    return [
        (sku, share.warehouse, q)
        for share in accepted_shares(shares, accepted)
        for sku, q in share.lines.items()
        if q
    ]
