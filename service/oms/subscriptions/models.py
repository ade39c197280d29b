"""The subscription message (CONTRACT.md §6e): the order's fields minus `orderId` and
`totalAmount`, plus `type`, `subscriptionId`, `interval`, optional `startAt` and `cycles`.

Each cycle turns it into an ordinary `OrderMessage` (`order_for`), so every order rule holds.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from oms.orders import money
from oms.orders.models import (
    MAX_BODY_BYTES,
    CurrencyCode,
    Customer,
    InvalidOrderError,
    OrderLine,
    OrderMessage,
    Payment,
    WireModel,
)
from oms.subscriptions.contract import SUBSCRIPTION_ID_PATTERN
from oms.subscriptions.schedule import parse_interval

SubscriptionId = Annotated[str, StringConstraints(pattern=SUBSCRIPTION_ID_PATTERN)]


class SubscriptionMessage(WireModel):
    type: Literal["subscription"] = "subscription"
    subscription_id: SubscriptionId
    customer: Customer
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]
    payment: Payment
    currency: CurrencyCode
    interval: str
    start_at: AwareDatetime | None = None
    cycles: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = None

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_interval(value)  # raises ValueError with the reason
        return value

    @field_validator("items")
    @classmethod
    def _unique(cls, items: list[OrderLine]) -> list[OrderLine]:
        skus = [line.sku for line in items]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear once")
        return items

    @model_validator(mode="after")
    def _in_minor_units(self) -> SubscriptionMessage:
        """Every cycle's order must be valid money (CONTRACT.md §4): refuse prices with more
        places than the currency has here, not in a cycle weeks later."""
        for index, line in enumerate(self.items):
            try:
                money.to_minor(line.unit_price, self.currency)
            except money.MoneyError as exc:
                raise ValueError(f"items[{index}].unitPrice: {exc}") from None
        return self

    def fingerprint(self) -> str:
        """SHA-256 of the canonical body: equal for redeliveries, different for a conflict."""
        canonical = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def order_for(self, order_id: str) -> OrderMessage:
        """The order a cycle places: the same customer, lines, payment and currency."""
        return OrderMessage(
            order_id=order_id,
            customer=self.customer,
            items=self.items,
            payment=self.payment,
            currency=self.currency,
            total_amount=sum((line.amount for line in self.items), Decimal("0.00")),
        )


def message_type(body: str | bytes) -> str | None:
    """The `type` of an intake message (None: not JSON, not an object, or no string type):
    routing only, the handler of the type validates the whole body."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    kind = document.get("type") if isinstance(document, dict) else None
    return kind if isinstance(kind, str) else None


def parse_subscription(body: str | bytes) -> SubscriptionMessage:
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidOrderError(f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        return SubscriptionMessage.model_validate_json(raw, by_alias=True)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            problems.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
        raise InvalidOrderError("; ".join(problems)) from None


def first_charge(message: SubscriptionMessage, now: datetime) -> datetime:
    return message.start_at if message.start_at is not None and message.start_at > now else now
