"""The returns' book in the order ledger: which units of an order are returnable, atomically.

`RETURNS` (one per order) counts, per SKU, the units held by open returns or already returned,
and how many returns were numbered; `RETURN#<n>` is one return. A return is numbered first
(`allocate`, no units held), then its workflow holds the units (`hold`); holding, releasing
(expired, cancelled) and receiving each change both items in one transaction, guarded by the
book's revision: of two concurrent requests for the last unit exactly one commits, the other
reads again and is refused. A return that knows the order's delivered parcels also counts its
units per parcel (`byParcel`, `oms.returns.shares`) and restocks each parcel's warehouse.
All DynamoDB access goes through `Ledger` (oms.orders.ledger).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from oms.orders.ledger import RACE_PASSES, Ledger, TransactionConflictError, Undo
from oms.orders.records import ParcelLines, RecordState
from oms.returns.records import ReturnBook, ReturnRecord, ReturnRequest
from oms.returns.shares import accepted_shares, add_held, assign, restocks

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BOOK: Final = ReturnBook.KIND


class NotReturnableError(Exception):
    """The request asks for units that cannot be returned (a business answer)."""


class ReturnClosedError(Exception):
    """The return was already released: its units cannot be received any more."""


@dataclass(frozen=True)
class Opened:
    number: int
    created: bool  # False: the request id was seen before, this is that return


def return_record(number: int) -> str:
    return f"{ReturnRecord.KIND}#{number}"


def request_record(request_id: str) -> str:
    return f"{ReturnRequest.KIND}#{request_id}"


class ReturnBookRepository:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def allocate(self, order_id: str, request_id: str) -> Opened:
        """The number of the request's return (the same request id, the same number). Holds no
        units, so a crash before the return's workflow starts strands nothing (at most a
        number goes unused). The count is an atomic counter: concurrent requests never wait
        for each other or for a hold."""
        ledger = self._ledger
        seen = ledger.get(ReturnRequest, order_id, request_record(request_id))
        if seen is not None:
            return Opened(number=seen.number, created=False)
        book = ledger.update_fields(
            ReturnBook,
            order_id,
            add={"opened": 1},
            if_absent={"status": RecordState.ACTIVE, "returned": {}, "bookRevision": 0},
        )
        assert book is not None  # no condition: the update always applies
        request = ReturnRequest(
            order_id=order_id,
            record=request_record(request_id),
            status=RecordState.RECEIVED,
            number=book.opened,
        )
        if ledger.put_new(request):
            return Opened(number=book.opened, created=True)
        seen = ledger.get(ReturnRequest, order_id, request_record(request_id))
        assert seen is not None  # a concurrent call with the same request id won
        return Opened(number=seen.number, created=False)

    def hold(
        self,
        order_id: str,
        number: int,
        lines: Mapping[str, int],
        *,
        shipped: Mapping[str, int],
        request_id: str | None = None,
        delivered: Sequence[ParcelLines] = (),
    ) -> Undo:
        """Hold `lines` for return `number` if each is at most shipped minus returned, and, with
        `delivered` (the order's delivered parcels), at most what those parcels have left; done
        once (a retried hold finds it). A return released first (a tombstone) raises."""
        ledger = self._ledger
        if not lines or any(quantity < 1 for quantity in lines.values()):
            raise NotReturnableError("a return needs at least one line, each of 1 unit or more")
        for _ in range(RACE_PASSES):
            record = ledger.get(ReturnRecord, order_id, return_record(number))
            if record is not None:
                if record.status == RecordState.RELEASED:
                    raise ReturnClosedError(f"return {number} of order {order_id} was released")
                return Undo(undone=False, detail="already held")
            book = ledger.get(ReturnBook, order_id)
            returned = dict(book.returned) if book else {}
            for sku, quantity in lines.items():
                left = shipped.get(sku, 0) - returned.get(sku, 0)
                if sku not in shipped:
                    raise NotReturnableError(f"{sku} is not part of order {order_id}")
                if quantity > left:
                    raise NotReturnableError(
                        f"only {max(left, 0)} of {sku} can still be returned (asked {quantity})"
                    )
                returned[sku] = returned.get(sku, 0) + quantity
            held = dict(book.by_parcel) if book else {}
            shares = self._shares(order_id, delivered, lines, held)
            items = [
                self._tx_book(order_id, book, returned, add_held(held, shares), opened=number),
                ledger.tx_put_new(
                    ReturnRecord(
                        order_id=order_id,
                        record=return_record(number),
                        status=RecordState.ACTIVE,
                        number=number,
                        lines=dict(lines),
                        request_id=request_id,
                        parcels=shares,
                    )
                ),
            ]
            try:
                ledger.transact(items)
            except TransactionConflictError:
                continue  # a concurrent return changed the book, or this one was held
            return Undo(undone=True, detail="held")
        raise RuntimeError(f"the returns of order {order_id} kept changing; retrying")

    @staticmethod
    def _shares(
        order_id: str,
        delivered: Sequence[ParcelLines],
        lines: Mapping[str, int],
        held: Mapping[str, Mapping[str, int]],
    ) -> list[ParcelLines]:
        if not delivered:
            return []
        assignment = assign(delivered, lines, held)
        if assignment.short:
            sku, left = next(iter(assignment.short.items()))
            raise NotReturnableError(
                f"only {left} of {sku} can still be returned from the delivered parcels of "
                f"order {order_id} (asked {lines[sku]}); a parcel not delivered yet cannot be "
                "returned"
            )
        return assignment.shares

    def open(
        self,
        order_id: str,
        lines: Mapping[str, int],
        *,
        shipped: Mapping[str, int],
        request_id: str,
    ) -> Opened:
        """`allocate` then `hold`, in one call (what a return's workflow does in two places)."""
        opened = self.allocate(order_id, request_id)
        self.hold(order_id, opened.number, lines, shipped=shipped, request_id=request_id)
        return opened

    def get(self, order_id: str, number: int) -> ReturnRecord | None:
        return self._ledger.get(ReturnRecord, order_id, return_record(number))

    def book(self, order_id: str) -> ReturnBook | None:
        return self._ledger.get(ReturnBook, order_id)

    def release(self, order_id: str, number: int) -> Undo:
        """Expired or cancelled: the return's units become returnable again; idempotent."""
        return self._close(order_id, number, RecordState.RELEASED, accepted=None)

    def receive(self, order_id: str, number: int, accepted: Mapping[str, int]) -> Undo:
        """The parcel arrived: accepted units go back to `available` stock; what was not
        accepted becomes returnable again. Idempotent; a released return raises."""

        return self._close(order_id, number, RecordState.CONSUMED, accepted=dict(accepted))

    def _close(
        self, order_id: str, number: int, status: RecordState, *, accepted: dict[str, int] | None
    ) -> Undo:
        """Released (accepted None: every unit returnable again) or received (the accepted
        units restocked to their parcels' warehouses, the rest returnable again)."""
        ledger = self._ledger
        record_key = return_record(number)
        for _ in range(RACE_PASSES):
            record = ledger.get(ReturnRecord, order_id, record_key)
            if record is None and status == RecordState.RELEASED:
                # Never held: a tombstone, so a hold still in flight can never take effect.
                tombstone = ReturnRecord(
                    order_id=order_id, record=record_key, status=RecordState.RELEASED, number=number
                )
                if ledger.put_new(tombstone):
                    return Undo(undone=False, detail="nothing was held")
                continue
            if record is None:
                raise ReturnClosedError(f"return {number} of order {order_id} does not exist")
            if record.status == status:
                return Undo(undone=False, detail=f"already {status.lower()}")
            if record.status != RecordState.ACTIVE:
                raise ReturnClosedError(f"return {number} of order {order_id} is {record.status}")
            for sku, quantity in (accepted or {}).items():
                if not 0 <= quantity <= record.lines.get(sku, 0):
                    raise NotReturnableError(f"{sku}: {quantity} units were not in the return")
            kept = accepted or {}
            freed = {sku: q - kept.get(sku, 0) for sku, q in record.lines.items()}
            freed_parcels = [
                ParcelLines(
                    number=share.number,
                    warehouse=share.warehouse,
                    lines={s: q - taken.lines.get(s, 0) for s, q in share.lines.items()},
                )
                for share, taken in zip(
                    record.parcels, accepted_shares(record.parcels, kept), strict=True
                )
            ]
            book = ledger.get(ReturnBook, order_id)
            returned = dict(book.returned) if book else {}
            for sku, q in freed.items():
                returned[sku] = max(returned.get(sku, 0) - q, 0)
            held = add_held(dict(book.by_parcel) if book else {}, freed_parcels, sign=-1)
            items: list[TransactWriteItemTypeDef] = [
                ledger.tx_transition(
                    order_id,
                    record_key,
                    RecordState.ACTIVE,
                    status,
                    {"accepted": accepted} if accepted is not None else None,
                ),
                self._tx_book(
                    order_id, book, returned, held, opened=book.opened if book else number
                ),
                *(
                    ledger.tx_stock(sku, available=q, warehouse=warehouse)
                    for sku, warehouse, q in restocks(record.parcels, kept)
                ),
            ]
            try:
                ledger.transact(items)
            except TransactionConflictError:
                continue
            return Undo(undone=True, detail=status.lower())
        raise RuntimeError(f"the returns of order {order_id} kept changing; retrying")

    def _tx_book(
        self,
        order_id: str,
        book: ReturnBook | None,
        returned: dict[str, int],
        by_parcel: dict[str, dict[str, int]],
        *,
        opened: int,
    ) -> TransactWriteItemTypeDef:
        if book is None:
            return self._ledger.tx_put_new(
                ReturnBook(
                    order_id=order_id,
                    status=RecordState.ACTIVE,
                    returned=returned,
                    by_parcel=by_parcel,
                    opened=opened,
                )
            )
        return self._ledger.tx_transition(
            order_id,
            BOOK,
            RecordState.ACTIVE,
            RecordState.ACTIVE,
            # Never `opened`: `allocate` counts it atomically outside the revision.
            {"returned": returned, "byParcel": by_parcel, "bookRevision": book.book_revision + 1},
            # A plain name in the condition: not one of DynamoDB's reserved words.
            unchanged={"bookRevision": book.book_revision},
        )
