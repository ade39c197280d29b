"""The public contract of returns: workflow ids, handler names, states, steps, error types."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

RETURN_WORKFLOW_TYPE: Final = "ReturnWorkflow"
RETURN_ID_PREFIX: Final = "return-"
RETURN_ID_PATTERN: Final = re.compile(
    r"^return-(?P<order>[A-Za-z0-9][A-Za-z0-9._-]{0,63})-(?P<n>\d+)$"
)

RECEIVE_UPDATE: Final = "receive"
CANCEL_UPDATE: Final = "cancel"
RESOLVE_UPDATE: Final = "resolve"
STATUS_QUERY: Final = "status"


def return_id(order_id: str, number: int) -> str:
    """The workflow id of the order's `number`-th return (1, 2, ...)."""
    return f"{RETURN_ID_PREFIX}{order_id}-{number}"


def parse_return_id(value: str) -> tuple[str, int] | None:
    """(order id, number) of a return id, or None if it is not one."""
    match = RETURN_ID_PATTERN.fullmatch(value)
    return None if match is None else (match["order"], int(match["n"]))


class ReturnState(StrEnum):
    """The `status` query's state; the last four are terminal."""

    REQUESTED = "REQUESTED"  # numbered; the units are being held
    AWAITING_PARCEL = "AWAITING_PARCEL"
    RECEIVED = "RECEIVED"
    REFUNDED = "REFUNDED"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"  # the units could not be held (not returnable): nothing happened

    @property
    def terminal(self) -> bool:
        return self in (
            ReturnState.COMPLETED,
            ReturnState.EXPIRED,
            ReturnState.CANCELLED,
            ReturnState.REJECTED,
        )

    @property
    def search_value(self) -> str:
        """The `OrderStatus` search attribute a return shows once it needed a person."""
        return "COMPLETED" if self == ReturnState.COMPLETED else "CANCELLED"


class ReturnStep(StrEnum):
    """The steps of a return, recorded with a timestamp (`status --json` shows them)."""

    HOLD_RETURN = "hold_return"
    SEND_INSTRUCTIONS = "send_instructions"
    RECEIVE_PARCEL = "receive_parcel"
    REFUND_RETURN = "refund_return"
    RESTOCK_RETURN = "restock_return"
    NOTIFY_REFUND = "notify_refund"
    RELEASE_RETURN = "release_return"
    NOTIFY_CLOSED = "notify_closed"


class ReturnEvent(StrEnum):
    """The emails of a return: one each (the mailer dedupes per order and event)."""

    INSTRUCTIONS = "INSTRUCTIONS"
    REFUNDED = "REFUNDED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class ReturnErrorType(StrEnum):
    """Types of the non-retryable `ApplicationError`s of returns (business answers)."""

    NOT_RETURNABLE = "NotReturnable"  # order not completed, window over, too many units
    RETURN_CLOSED = "ReturnClosed"  # the return was already released or received
    REQUEST_REJECTED = "ReturnRequestRejected"  # an update's validator said no


class RejectReason(StrEnum):
    """Why a return was REJECTED."""

    NOT_RETURNABLE = "NOT_RETURNABLE"
    LEDGER_UNAVAILABLE = "LEDGER_UNAVAILABLE"  # the hold kept failing past its retry budget
