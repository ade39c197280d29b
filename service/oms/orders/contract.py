"""The public contract of the order capability: names other processes and teams rely on.

Workflow ids, the task queue, handler names, states, steps, reason codes and error types live
here so the worker, the starter, the CLI and the tests agree without importing each other.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from oms.process import visibility

DEFAULT_TASK_QUEUE: Final = "order-processing"
WORKFLOW_ID_PREFIX: Final = "order-"
# The workflow type (OrderWorkflow's class name): what visibility queries filter on.
ORDER_WORKFLOW_TYPE: Final = "OrderWorkflow"

# Handler names (kept as in the original demo: `cancel_order` signal).
CANCEL_SIGNAL: Final = "cancel_order"
CANCEL_UPDATE: Final = "cancel"
STATUS_QUERY: Final = "status"
RESOLVE_UPDATE: Final = "resolve"
EDIT_UPDATE: Final = "edit"  # change the lines before capture (§6g)
REVIEW_UPDATE: Final = "review"  # approve or reject an order held IN_REVIEW (§6g)
# A purchase order's news for an order waiting BACKORDERED (§6f): confirmed, filled, failed.
BACKORDER_SIGNAL: Final = "backorder_news"
# The event of the one email a backordered order sends while it waits (with the ETA).
BACKORDERED_EMAIL: Final = "backordered"

# Keyword search attribute: IN_PROGRESS from the start (free), upserted only at the outcome or
# when the order needs a person (each upsert is a billable action). Register it on the namespace.
# (The process core's visibility keyword: `oms.process.visibility`.)
ORDER_STATUS_ATTRIBUTE: Final = visibility.ORDER_STATUS_ATTRIBUTE
ORDER_STATUS_KEY: Final = visibility.ORDER_STATUS_KEY


def order_workflow_id(order_id: str) -> str:
    """The one workflow id of an order: a redelivered message maps to the same workflow."""
    return f"{WORKFLOW_ID_PREFIX}{order_id}"


def order_id_from_workflow_id(workflow_id: str) -> str:
    return workflow_id.removeprefix(WORKFLOW_ID_PREFIX)


class OrderState(StrEnum):
    """The `status` query's state. The last three are terminal."""

    RECEIVED = "RECEIVED"
    RESERVED = "RESERVED"
    AUTHORIZED = "AUTHORIZED"
    IN_REVIEW = "IN_REVIEW"  # authorized, waiting for a person's review (§6g)
    BACKORDERED = "BACKORDERED"  # authorized, waiting for a supplier's delivery (§6f)
    PREPARED = "PREPARED"
    PAID = "PAID"  # captured
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self in (OrderState.COMPLETED, OrderState.CANCELLED, OrderState.FAILED)


class SearchStatus(StrEnum):
    """Values of the `OrderStatus` search attribute (what `oms list --status` filters on)."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"


class Step(StrEnum):
    """The steps of an order, in order, then the compensations. Recorded with a timestamp."""

    RESERVE_INVENTORY = "reserve_inventory"
    AUTHORIZE_PAYMENT = "authorize_payment"
    PREPARE_SHIPMENT = "prepare_shipment"
    CAPTURE_PAYMENT = "capture_payment"
    SHIP = "ship"
    NOTIFY_CUSTOMER = "notify_customer"
    RELEASE_INVENTORY = "release_inventory"
    VOID_PAYMENT = "void_payment"
    REFUND_PAYMENT = "refund_payment"
    CANCEL_SHIPMENT = "cancel_shipment"
    # Money rules (§6g), recorded when they happen (after the forward steps and compensations,
    # so the first six stay the saga's steps in order).
    EDIT = "edit"  # the lines changed before capture: stock and hold follow the new total
    REVIEW = "review"  # the decision on an order held for review, with its note
    # Backorders (§6f): the shortfall joined purchase orders; withdrawn when the order ends.
    BACKORDER = "backorder"
    WITHDRAW_BACKORDER = "withdraw_backorder"


class FailureReason(StrEnum):
    """Why an order FAILED. The customer's email explains each (`CUSTOMER_TEXT`)."""

    OUT_OF_STOCK = "OUT_OF_STOCK"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    # A step that kept failing past its retry budget, or answered with an error we do not know.
    INVENTORY_UNAVAILABLE = "INVENTORY_UNAVAILABLE"
    PAYMENT_UNAVAILABLE = "PAYMENT_UNAVAILABLE"
    SHIPMENT_FAILED = "SHIPMENT_FAILED"
    # The reason of a CANCELLED order whose review rejected it (or never came in time).
    REVIEW_REJECTED = "REVIEW_REJECTED"
    # The supplier rejected, never confirmed, or delivered too late (§6f).
    BACKORDER_FAILED = "BACKORDER_FAILED"


CUSTOMER_TEXT: Final[dict[FailureReason, str]] = {
    FailureReason.OUT_OF_STOCK: "some items are out of stock",
    FailureReason.PAYMENT_DECLINED: "the payment was declined",
    FailureReason.INVENTORY_UNAVAILABLE: "of a problem on our side",
    FailureReason.PAYMENT_UNAVAILABLE: "the payment could not be processed",
    FailureReason.SHIPMENT_FAILED: "the parcel could not be shipped",
    FailureReason.REVIEW_REJECTED: "it did not pass our review",
    FailureReason.BACKORDER_FAILED: "our supplier could not deliver the missing items in time",
}


class ErrorType(StrEnum):
    """Types of the non-retryable `ApplicationError`s activities raise (business answers)."""

    OUT_OF_STOCK = "OutOfStock"
    PAYMENT_DECLINED = "PaymentDeclined"
    ALREADY_COMPENSATED = "AlreadyCompensated"
    ALREADY_SHIPPED = "AlreadyShipped"
    CANCEL_REJECTED = "CancelRejected"
    REVIEW_REFUSED = "ReviewRefused"  # a review decision for an order not IN_REVIEW
    EDIT_REFUSED = "EditRefused"  # an edit after capture started, or one that cannot apply
