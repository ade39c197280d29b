"""What the ledger keeps for returns (the order ledger's items of kind RETURNS, RETURN, ...)."""

from __future__ import annotations

from pydantic import Field

from oms.orders.records import ParcelLines, Record


class ReturnBook(Record):
    """Per order: units of each SKU held by open returns or returned, and how many returns were
    opened. Every change bumps `book_revision` on condition that it did not move meanwhile,
    so concurrent returns for the last unit cannot both pass (optimistic locking)."""

    KIND = "RETURNS"
    returned: dict[str, int] = Field(default_factory=dict)
    # The same per parcel (number -> SKU -> units), for returns that know the order's parcels.
    by_parcel: dict[str, dict[str, int]] = Field(default_factory=dict)
    opened: int = 0
    book_revision: int = 0


class ReturnRecord(Record):
    """One return (`RETURN#<n>`): ACTIVE while its units are held, RELEASED when it expired or
    was cancelled (returnable again), CONSUMED once received (accepted units restocked)."""

    KIND = "RETURN"
    number: int
    lines: dict[str, int] = Field(default_factory=dict)
    accepted: dict[str, int] | None = None
    request_id: str | None = None
    # Which delivered parcels the units come from (empty: an order followed before parcels).
    parcels: list[ParcelLines] = Field(default_factory=list)


class ReturnRequest(Record):
    """A request id already used (`RETURN_REQUEST#<id>`): the same id gives the same return."""

    KIND = "RETURN_REQUEST"
    number: int
