"""The public contract of the order capability: names other processes and teams rely on.

Workflow ids, the task queue, handler names, states and reason codes live here so the worker,
the starter, the CLI and the tests agree without importing each other.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from temporalio.common import SearchAttributeKey

DEFAULT_TASK_QUEUE: Final = "order-processing"
WORKFLOW_ID_PREFIX: Final = "order-"
# The workflow type (OrderWorkflow's class name): what visibility queries filter on.
ORDER_WORKFLOW_TYPE: Final = "OrderWorkflow"

# Handler names (kept as in the original demo: `cancel_order` signal).
CANCEL_SIGNAL: Final = "cancel_order"
CANCEL_UPDATE: Final = "cancel"
STATUS_QUERY: Final = "status"

# Keyword search attribute kept current with the order's state; register it on the namespace.
ORDER_STATUS_ATTRIBUTE: Final = "OrderStatus"
ORDER_STATUS_KEY: Final = SearchAttributeKey.for_keyword(ORDER_STATUS_ATTRIBUTE)

# Memo key holding a hash of the order body, used by the starter to tell duplicates from
# conflicting re-uses of an order id (no personal data: a SHA-256 of the canonical body).
FINGERPRINT_MEMO: Final = "orderFingerprint"


def order_workflow_id(order_id: str) -> str:
    """The one workflow id of an order: a redelivered message maps to the same workflow."""
    return f"{WORKFLOW_ID_PREFIX}{order_id}"


def order_id_from_workflow_id(workflow_id: str) -> str:
    return workflow_id.removeprefix(WORKFLOW_ID_PREFIX)


class OrderState(StrEnum):
    RECEIVED = "RECEIVED"
    RESERVED = "RESERVED"
    PAID = "PAID"
    PREPARED = "PREPARED"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES: Final = frozenset({OrderState.COMPLETED, OrderState.CANCELLED, OrderState.FAILED})


class Step(StrEnum):
    """The steps of an order, in order. Each completed step is recorded with a timestamp."""

    RESERVE_INVENTORY = "reserve_inventory"
    CHARGE_PAYMENT = "charge_payment"
    PREPARE_SHIPMENT = "prepare_shipment"
    SHIP = "ship"
    NOTIFY_CUSTOMER = "notify_customer"
    # Compensations, recorded when they undo something.
    RELEASE_INVENTORY = "release_inventory"
    REFUND_PAYMENT = "refund_payment"
    CANCEL_SHIPMENT = "cancel_shipment"


class FailureReason(StrEnum):
    OUT_OF_STOCK = "OUT_OF_STOCK"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    # A step that kept failing past its retry budget (an outage longer than we wait).
    INVENTORY_UNAVAILABLE = "INVENTORY_UNAVAILABLE"
    PAYMENT_UNAVAILABLE = "PAYMENT_UNAVAILABLE"
    SHIPMENT_FAILED = "SHIPMENT_FAILED"


# Error types raised by activities as non-retryable ApplicationErrors (business outcomes).
class ErrorType(StrEnum):
    OUT_OF_STOCK = "OutOfStock"
    PAYMENT_DECLINED = "PaymentDeclined"
    ALREADY_COMPENSATED = "AlreadyCompensated"
    ALREADY_SHIPPED = "AlreadyShipped"
