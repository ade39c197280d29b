"""What the saga's builders need of a split order (§6d): each parcel's order lines, its share of
the total in minor units (the last parcel takes what is left, so the shares add up to the
authorized total exactly) and its carrier hand-off. Pure, so safe inside the workflow."""

from __future__ import annotations

from oms.orders import money
from oms.orders.models import OrderLine, OrderMessage
from oms.orders.payloads import ParcelHandoff, ParcelPlan


def parcel_lines(order: OrderMessage, parcel: ParcelPlan) -> list[OrderLine]:
    prices = {line.sku: line.unit_price for line in order.items}
    return [
        OrderLine(sku=sku, quantity=quantity, unit_price=prices[sku])
        for sku, quantity in parcel.lines.items()
    ]


def shares_minor(order: OrderMessage, parcels: list[ParcelPlan]) -> list[int]:
    if len(parcels) < 2:
        return []
    shares = [
        sum(
            money.to_minor(line.unit_price * line.quantity, order.currency)
            for line in parcel_lines(order, parcel)
        )
        for parcel in parcels[:-1]
    ]
    return [*shares, order.total_minor - sum(shares)]


def handoffs(order: OrderMessage, parcels: list[ParcelPlan]) -> list[ParcelHandoff]:
    return [
        ParcelHandoff(
            number=parcel.number,
            warehouse=parcel.warehouse,
            lines=parcel_lines(order, parcel),
            currency=order.currency,
            captured=money.from_minor(share, order.currency),
            customer_name=order.customer.name,
            email=str(order.customer.email),
        )
        for parcel, share in zip(parcels, shares_minor(order, parcels), strict=True)
    ]
