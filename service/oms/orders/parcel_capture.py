"""A split order's captures (§6d): one per parcel, each its lines' share, adding up to the hold.

Each parcel's capture writes its own record (`CAPTURE#<n>`) in the same transaction as the
payment's books, under the books' previous `captured`: a retried or concurrent attempt captures
each parcel once, and the books never take more than the hold (`PaymentBook.capture`).
A refund of one parcel (a return, the delivery's refund) is capped at that record's `amount`
minus its `refunded`, which moves in the refund's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from oms.orders import money
from oms.orders.ledger import RACE_PASSES, Ledger, TransactionConflictError
from oms.orders.payment_book import MoneyRuleError, PaymentBook
from oms.orders.records import ParcelCapture, Payment, RecordState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class CaptureRaceError(RuntimeError):
    """The books kept changing under this attempt: transient, Temporal retries."""


Books = Callable[[Payment], PaymentBook]


def capture_parcels(
    ledger: Ledger, order_id: str, shares: Sequence[int], books_of: Books
) -> Payment | None:
    """Capture every parcel not captured yet; the payment afterwards, None if it was voided."""
    for number, share in enumerate(shares, start=1):
        if not _capture_one(ledger, order_id, number, share, books_of):
            return None
    return ledger.get(Payment, order_id)


def _capture_one(ledger: Ledger, order_id: str, number: int, share: int, books_of: Books) -> bool:
    record = f"{ParcelCapture.KIND}#{number}"
    for _ in range(RACE_PASSES):
        if ledger.get(ParcelCapture, order_id, record) is not None:
            return True
        payment = ledger.get(Payment, order_id)
        if payment is None or payment.status not in (RecordState.AUTHORIZED, RecordState.CAPTURED):
            return False
        try:
            books = books_of(payment).capture(share)
        except MoneyRuleError as exc:
            raise ValueError(f"parcel {number} of order {order_id}: {exc}") from None
        amount = money.from_minor(share, payment.currency)
        write = [
            ledger.tx_put_new(
                ParcelCapture(
                    order_id=order_id, record=record, status=RecordState.CAPTURED, amount=amount
                )
            ),
            ledger.tx_transition(
                order_id,
                Payment.KIND,
                payment.status,
                RecordState.CAPTURED,
                {"captured": money.from_minor(books.captured, payment.currency)},
                unchanged={
                    "captured": payment.captured,
                    "authorizationId": payment.authorization_id,
                },
            ),
        ]
        try:
            ledger.transact(write)
        except TransactionConflictError:
            continue
        return True
    raise CaptureRaceError(f"the books of order {order_id} kept changing; retrying")


def parcel_capture(ledger: Ledger, order_id: str, parcel: int | None) -> ParcelCapture | None:
    """The parcel's capture record; None for an order captured whole (one parcel, or before
    parcels), whose refunds are capped by the payment's books alone."""
    if parcel is None:
        return None
    return ledger.get(ParcelCapture, order_id, f"{ParcelCapture.KIND}#{parcel}")


def parcel_refundable(capture: ParcelCapture, requested: int | None, currency: str) -> int:
    """`requested` minor units (None: all), at most what the parcel's capture has left."""
    left = max(money.to_minor(capture.amount - capture.refunded, currency), 0)
    return left if requested is None else min(requested, left)


def tx_parcel_refund(
    ledger: Ledger, capture: ParcelCapture, amount: Decimal
) -> TransactWriteItemTypeDef:
    """The parcel's `refunded` after a refund of `amount`. No lock of its own: the refund's
    transaction is conditioned on the payment's `refunded`, which every refund moves."""
    return ledger.tx_transition(
        capture.order_id,
        capture.record,
        RecordState.CAPTURED,
        RecordState.CAPTURED,
        {"refunded": capture.refunded + amount},
    )
