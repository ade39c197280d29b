"""The wire format of partner events (camelCase, at most 64 KiB):

- `{"type": "carrierEvent", "eventId", "trackingNumber", "status", "at"}` (§6d);
- `{"type": "supplierEvent", "eventId", "purchaseOrderId", "status", "eta"?, "quantity"?}`
  (§6f): CONFIRMED needs an ETA (a date), DELIVERED a quantity, REJECTED neither.

Anything else is invalid, with a reason that names what is wrong, never the content.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Final, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from oms.delivery.contract import CarrierStatus
from oms.purchasing.contract import PURCHASE_ORDER_PREFIX, SupplierStatus

MAX_BYTES: Final = 64 * 1024
MAX_DELIVERED: Final = 1_000_000  # one delivery; more is a typo, not a shipment
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
# Only a purchase order's id: an event must not be able to signal any other workflow.
PurchaseOrderRef = Annotated[
    str, StringConstraints(pattern=rf"^{PURCHASE_ORDER_PREFIX}[A-Za-z0-9._-]{{3,250}}$")
]


class InvalidEventError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Event(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class CarrierEventMessage(_Event):
    type: Literal["carrierEvent"]
    event_id: Ident
    tracking_number: Ident
    status: CarrierStatus
    at: AwareDatetime


class SupplierEventMessage(_Event):
    type: Literal["supplierEvent"]
    event_id: Ident
    purchase_order_id: PurchaseOrderRef
    status: SupplierStatus
    eta: date | None = None
    quantity: int | None = Field(None, ge=1, le=MAX_DELIVERED)

    @model_validator(mode="after")
    def _fields_of_the_status(self) -> Self:
        if self.status == SupplierStatus.CONFIRMED and self.eta is None:
            raise ValueError("a CONFIRMED event needs an eta (ISO date)")
        if self.status == SupplierStatus.DELIVERED and self.quantity is None:
            raise ValueError("a DELIVERED event needs a quantity")
        if self.status == SupplierStatus.REJECTED and self.quantity is not None:
            raise ValueError("a REJECTED event has no quantity")
        return self


EventMessage = CarrierEventMessage | SupplierEventMessage
KINDS: Final[dict[str, type[CarrierEventMessage] | type[SupplierEventMessage]]] = {
    "carrierEvent": CarrierEventMessage,
    "supplierEvent": SupplierEventMessage,
}


def parse_event(body: str) -> EventMessage:
    """The event in `body`, or `InvalidEventError` naming what is wrong (never its content)."""
    if len(body.encode()) > MAX_BYTES:
        raise InvalidEventError(f"invalid event: larger than {MAX_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidEventError("invalid event: not JSON") from None
    if not isinstance(data, dict):
        raise InvalidEventError("invalid event: not a JSON object")
    kind = data.get("type")
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise InvalidEventError(f"invalid event: unsupported type {str(kind)[:40]!r}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '?'}: {_message(e['msg'])}"
            for e in error.errors()
        )
        raise InvalidEventError(f"invalid event: {problems}"[:500]) from None


def _message(text: str) -> str:
    # pydantic prefixes a validator's ValueError with "Value error, ": the reason reads better
    return text.removeprefix("Value error, ")
