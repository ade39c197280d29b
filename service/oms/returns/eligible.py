"""Which parcels of an order a return may take units from (§6d): only delivered ones.

Read from the order's deliveries (`delivery-<orderId>-<n>`) when the return is opened; the
units themselves are then held atomically per parcel by the return's first step
(`ReturnBookRepository.hold`). An order whose parcels were never followed (shipped before
deliveries existed, or by a worker without a hand-off) has no deliveries: it is counted as a
whole, as before.
"""

from __future__ import annotations

from collections.abc import Mapping

from oms.delivery.client import DeliveryClient
from oms.delivery.contract import DeliveryState
from oms.delivery.payloads import DeliveryStatus
from oms.orders.records import ParcelLines
from oms.returns.book import NotReturnableError


def returnable(parcel: DeliveryStatus) -> bool:
    """Delivered and not refunded by its delivery (a refund settled the parcel already)."""
    return parcel.state == DeliveryState.DELIVERED and parcel.refunded is None


async def delivered_parcels(
    deliveries: DeliveryClient, order_id: str, items: Mapping[str, int], parcel: int | None
) -> list[ParcelLines]:
    """The delivered parcels the return may take `items` from (empty: counted as a whole);
    refuses, naming the parcel, a return that needs units not delivered yet."""
    parcels = await deliveries.parcels(order_id)
    if not parcels:
        if parcel not in (None, 1):
            raise NotReturnableError(f"order {order_id} has no parcel {parcel}")
        return []
    if parcel is not None:
        parcels = [p for p in parcels if p.number == parcel]
        if not parcels:
            raise NotReturnableError(f"order {order_id} has no parcel {parcel}")
    for sku, quantity in items.items():
        have = sum(
            line.quantity for p in parcels if returnable(p) for line in p.lines if line.sku == sku
        )
        if quantity <= have:
            continue
        waiting = [
            p for p in parcels if not returnable(p) and any(line.sku == sku for line in p.lines)
        ]
        where = ", ".join(f"parcel {p.number} is {_state(p)}" for p in waiting)
        raise NotReturnableError(
            f"only delivered units can be returned: {have} of {sku} delivered (asked {quantity})"
            + (f"; {where}" if where else "")
        )
    return [
        ParcelLines(
            number=p.number,
            warehouse=p.warehouse,
            lines={line.sku: line.quantity for line in p.lines},
        )
        for p in parcels
        if returnable(p)
    ]


def _state(parcel: DeliveryStatus) -> str:
    if parcel.refunded is not None:
        return f"{parcel.state.value}, refunded"
    return f"{parcel.state.value}, not delivered yet"
