"""Activities of a delivery: the milestone emails, a parcel's refund, restock and reship.

Each is idempotent: emails by (order, email key) in the mailer, the refund by its gateway key
(the delivery id), the restock by a ledger record written in the same transaction as the stock,
the reship by its attempt number (the same attempt gives the same tracking number).
"""

from __future__ import annotations

import uuid
from html import escape

from temporalio import activity

from oms.delivery.contract import DeliveryEmail, parse_delivery_id
from oms.delivery.payloads import (
    DeliveryNotifyInput,
    ParcelRefundInput,
    ParcelRefundResult,
    ReshipInput,
    ReshipResult,
    RestockInput,
    RestockResult,
)
from oms.delivery.tracking import TrackingBook
from oms.mail.mailer import Mailer, NotifyResult
from oms.orders.gateway import PaymentGateway
from oms.orders.ledger import Ledger, TransactionConflictError
from oms.records import Record, RecordState

SUBJECTS = {
    DeliveryEmail.OUT_FOR_DELIVERY: "Your parcel of order {order_id} is out for delivery",
    DeliveryEmail.DELIVERED: "Your parcel of order {order_id} was delivered",
    DeliveryEmail.REVIEW_REQUEST: "How was your order {order_id}?",
    DeliveryEmail.EXCEPTION: "A problem with the delivery of order {order_id}",
    DeliveryEmail.RESHIPPED: "We sent your order {order_id} again",
    DeliveryEmail.REFUNDED: "Your refund for order {order_id}",
    DeliveryEmail.RETURNED: "Your parcel of order {order_id} came back to us",
}
SUMMARIES = {
    DeliveryEmail.OUT_FOR_DELIVERY: "Your parcel {tracking} is out for delivery today.",
    DeliveryEmail.DELIVERED: "Your parcel {tracking} was delivered.",
    DeliveryEmail.REVIEW_REQUEST: "We would love to hear what you think of your order.",
    DeliveryEmail.EXCEPTION: "The carrier reported a problem with parcel {tracking}; we are on it.",
    DeliveryEmail.RESHIPPED: "We sent your items again: the new tracking number is {tracking}.",
    DeliveryEmail.REFUNDED: "We refunded {amount} {currency} for the parcel {tracking}.",
    DeliveryEmail.RETURNED: "Parcel {tracking} came back to us; we refunded {amount} {currency}.",
}


def refund_key(delivery_id: str) -> str:
    """The gateway's idempotency key of a parcel's refund (one refund per delivery)."""
    return f"refund-{delivery_id}"


def render(request: DeliveryNotifyInput) -> tuple[str, str, str]:
    subject = SUBJECTS[request.event].format(order_id=request.order_id)
    summary = SUMMARIES[request.event].format(
        tracking=request.tracking_number, amount=request.amount, currency=request.currency
    )
    lines = [f"{line.quantity} x {line.sku}" for line in request.lines]
    text = "\n".join([f"Hello {request.customer_name},", "", summary, "", *lines])
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    html = f"<p>Hello {escape(request.customer_name)},</p><p>{escape(summary)}</p><ul>{items}</ul>"
    return subject, text, html


class Restock(Record):
    """A parcel's units back in stock (`RESTOCK#<delivery id>`), in the stock's transaction."""

    KIND = "RESTOCK"


class Reship(Record):
    """A parcel sent again (`RESHIP#<delivery id>#<attempt>`) with its tracking number."""

    KIND = "RESHIP"
    tracking_number: str


class DeliveryActivities:
    def __init__(self, *, ledger: Ledger, gateway: PaymentGateway, mailer: Mailer) -> None:
        self._ledger = ledger
        self._tracking = TrackingBook(ledger)
        self._gateway = gateway
        self._mailer = mailer

    @activity.defn
    def notify_delivery(self, request: DeliveryNotifyInput) -> NotifyResult:
        subject, text, html = render(request)
        return self._mailer.send_once(
            request.order_id,
            request.email_key,
            to=request.email,
            subject=subject,
            text=text,
            html=html,
        )

    @activity.defn
    def refund_parcel(self, request: ParcelRefundInput) -> ParcelRefundResult:
        """Refund what the parcel's capture took: never more than that capture minus its
        refunds (a split order), nor than the order's captured minus refunded."""
        parsed = parse_delivery_id(request.delivery_id)
        refund = self._gateway.refund(
            request.order_id,
            request.amount,
            idempotency_key=refund_key(request.delivery_id),
            parcel=parsed[1] if parsed else None,
        )
        activity.logger.info("refunded parcel %s: %s", request.delivery_id, refund.amount)
        return ParcelRefundResult(amount=refund.amount)

    @activity.defn
    def restock_parcel(self, request: RestockInput) -> RestockResult:
        ledger = self._ledger
        record = Restock(
            order_id=request.order_id,
            record=f"{Restock.KIND}#{request.delivery_id}",
            status=RecordState.RECEIVED,
        )
        try:
            ledger.transact(
                [
                    ledger.tx_put_new(record),
                    *(
                        ledger.tx_stock(
                            line.sku, available=line.quantity, warehouse=request.warehouse
                        )
                        for line in request.lines
                    ),
                ]
            )
        except TransactionConflictError:
            return RestockResult(changed=False)  # restocked before (a retry)
        return RestockResult(changed=True)

    @activity.defn
    def reship_parcel(self, request: ReshipInput) -> ReshipResult:
        """A new parcel with the same lines and a new tracking number, no new charge (the units
        are the warehouse's cost of the loss)."""
        record = f"{Reship.KIND}#{request.delivery_id}#{request.attempt}"
        tracking = f"TRK{uuid.uuid4().int % 10**12:012d}R{request.attempt}"
        reship = Reship(
            order_id=request.order_id,
            record=record,
            status=RecordState.SHIPPED,
            tracking_number=tracking,
        )
        if not self._ledger.put_new(reship):
            found = self._ledger.get(Reship, request.order_id, record)
            tracking = found.tracking_number if found is not None else tracking
        self._tracking.register(tracking, request.delivery_id)
        return ReshipResult(tracking_number=tracking)
