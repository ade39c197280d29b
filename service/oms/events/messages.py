"""The wire format of partner events: `{"type": "carrierEvent", "eventId", "trackingNumber",
"status", "at"}` (camelCase, at most 64 KiB). Anything else is invalid, with a reason."""

from __future__ import annotations

import json
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from oms.delivery.contract import CarrierStatus

MAX_BYTES: Final = 64 * 1024
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]


class InvalidEventError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CarrierEventMessage(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    type: Literal["carrierEvent"]
    event_id: Ident
    tracking_number: Ident
    status: CarrierStatus
    at: AwareDatetime


def parse_event(body: str) -> CarrierEventMessage:
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
    if kind != "carrierEvent":
        raise InvalidEventError(f"invalid event: unsupported type {str(kind)[:40]!r}")
    try:
        return CarrierEventMessage.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '?'}: {e['msg']}" for e in error.errors()
        )
        raise InvalidEventError(f"invalid event: {problems}"[:500]) from None
