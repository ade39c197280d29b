"""The base of every ledger item (orders, returns, emails, ...) and the store they need.

One item per (order, record): key (`orderId`, `record`), a status and when it was written.
`RecordStore` is what a capability outside `orders/` needs of the ledger (`oms.orders.ledger`),
so it depends on this module and not on the order package.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class RecordState(StrEnum):
    """Where a ledger record stands (its `status` attribute). Not an order's state (OrderState),
    nor the OrderStatus search attribute (SearchStatus)."""

    ACTIVE = "ACTIVE"  # reservation holds stock
    RELEASED = "RELEASED"
    CONSUMED = "CONSUMED"  # shipped: the reserved units left the warehouse
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    PREPARED = "PREPARED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"
    SENT = "SENT"
    REJECTED = "REJECTED"  # SES refused the address for good
    RECEIVED = "RECEIVED"


class Record(BaseModel):
    """Base of every ledger item: key (`orderId`, `record`), a status and when it was written."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")
    KIND: ClassVar[str]

    order_id: str
    record: str = ""
    status: RecordState
    at: str = Field(default_factory=now_iso)

    def model_post_init(self, _context: object) -> None:
        if not self.record:
            self.record = self.KIND


R = TypeVar("R", bound=Record)


class RecordStore(Protocol):
    def get(self, model: type[R], order_id: str, record: str | None = None) -> R | None: ...

    def put_new(self, record: Record) -> bool: ...
