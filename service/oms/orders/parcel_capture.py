"""A split order's captures (§6d): one per parcel, each its lines' share, adding up to the hold.

Each parcel's capture writes its own record (`CAPTURE#<n>`) in the same transaction as the
payment's books, under the books' previous `captured`: a retried or concurrent attempt captures
each parcel once, and the books never take more than the hold (`PaymentBook.capture`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from oms.orders import money
from oms.orders.ledger import RACE_PASSES, Ledger, TransactionConflictError
from oms.orders.payment_book import MoneyRuleError, PaymentBook
from oms.orders.records import ParcelCapture, Payment, RecordState


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
