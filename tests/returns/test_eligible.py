"""Which parcels a return may take units from: delivered ones only, first parcel first; a
request for units of a parcel on its way is refused naming that parcel (pure, no servers)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import cast

import pytest

from oms.delivery.client import DeliveryClient
from oms.delivery.contract import DeliveryState
from oms.delivery.payloads import DeliveryStatus, ParcelLine
from oms.orders.records import ParcelLines
from oms.returns.book import NotReturnableError
from oms.returns.eligible import delivered_parcels
from oms.returns.shares import accepted_shares, add_held, assign, restocks


def parcel(
    number: int, warehouse: str, lines: dict[str, int], state: DeliveryState
) -> DeliveryStatus:
    return DeliveryStatus(
        delivery_id=f"delivery-O-{number}",
        order_id="O",
        number=number,
        warehouse=warehouse,
        state=state,
        tracking_number=f"TRK{number}",
        lines=[ParcelLine(sku=s, quantity=q, unit_price=Decimal("1")) for s, q in lines.items()],
    )


class FakeDeliveries:
    def __init__(self, *parcels: DeliveryStatus) -> None:
        self._parcels = list(parcels)

    async def parcels(self, order_id: str) -> list[DeliveryStatus]:
        return self._parcels


def deliveries(*parcels: DeliveryStatus) -> DeliveryClient:
    return cast("DeliveryClient", FakeDeliveries(*parcels))


MAIN_DELIVERED = parcel(1, "main", {"MUG": 2, "TEE": 1}, DeliveryState.DELIVERED)
NORTH_ON_ITS_WAY = parcel(2, "north", {"TEE": 2}, DeliveryState.OUT_FOR_DELIVERY)


async def test_only_delivered_parcels_are_offered() -> None:
    found = await delivered_parcels(
        deliveries(MAIN_DELIVERED, NORTH_ON_ITS_WAY), "O", {"TEE": 1}, None
    )
    assert found == [ParcelLines(number=1, warehouse="main", lines={"MUG": 2, "TEE": 1})]


async def test_units_only_a_parcel_on_its_way_has_are_refused_naming_it() -> None:
    expected = "1 of TEE delivered (asked 3); parcel 2 is OUT_FOR_DELIVERY, not delivered yet"
    with pytest.raises(NotReturnableError, match=re.escape(expected)):
        await delivered_parcels(deliveries(MAIN_DELIVERED, NORTH_ON_ITS_WAY), "O", {"TEE": 3}, None)


async def test_a_named_parcel_not_delivered_is_refused() -> None:
    with pytest.raises(NotReturnableError, match="parcel 2 is OUT_FOR_DELIVERY"):
        await delivered_parcels(deliveries(MAIN_DELIVERED, NORTH_ON_ITS_WAY), "O", {"TEE": 1}, 2)
    with pytest.raises(NotReturnableError, match="no parcel 3"):
        await delivered_parcels(deliveries(MAIN_DELIVERED), "O", {"TEE": 1}, 3)


async def test_an_order_without_followed_parcels_is_counted_as_a_whole() -> None:
    assert await delivered_parcels(deliveries(), "O", {"TEE": 1}, None) == []


def test_units_come_from_the_first_parcels_with_units_left() -> None:
    delivered = [
        ParcelLines(number=1, warehouse="main", lines={"TEE": 1}),
        ParcelLines(number=2, warehouse="north", lines={"TEE": 2, "MUG": 1}),
    ]
    taken = assign(delivered, {"TEE": 2}, held={})
    assert taken.shares == [
        ParcelLines(number=1, warehouse="main", lines={"TEE": 1}),
        ParcelLines(number=2, warehouse="north", lines={"TEE": 1}),
    ]
    held = add_held({}, taken.shares)
    assert assign(delivered, {"TEE": 2}, held).short == {"TEE": 1}
    # Accepting one of the two: from parcel 1 first; it goes back to main.
    assert restocks(taken.shares, {"TEE": 1}) == [("TEE", "main", 1)]
    assert [s.lines for s in accepted_shares(taken.shares, {"TEE": 1})] == [{"TEE": 1}, {"TEE": 0}]
    assert add_held(held, taken.shares, sign=-1) == {"1": {"TEE": 0}, "2": {"TEE": 0}}
