"""The returns' book against moto: what can be returned is decided atomically in the ledger."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from oms.orders.ledger import Ledger
from oms.returns.book import NotReturnableError, ReturnBookRepository, ReturnClosedError

SHIPPED = {"MUG": 2, "TEE": 1}


def test_returns_are_numbered_and_limited_to_what_was_shipped(
    book: ReturnBookRepository, order_id: str
) -> None:
    first = book.open(order_id, {"MUG": 1}, shipped=SHIPPED, request_id="a")
    second = book.open(order_id, {"MUG": 1, "TEE": 1}, shipped=SHIPPED, request_id="b")

    assert (first.number, second.number) == (1, 2)
    with pytest.raises(NotReturnableError, match="only 0 of MUG"):
        book.open(order_id, {"MUG": 1}, shipped=SHIPPED, request_id="c")
    with pytest.raises(NotReturnableError, match="not part of order"):
        book.open(order_id, {"HAT": 1}, shipped=SHIPPED, request_id="d")
    with pytest.raises(NotReturnableError, match="1 unit or more"):
        book.open(order_id, {"MUG": -1}, shipped=SHIPPED, request_id="e")  # would free a unit


def test_the_same_request_id_gives_the_same_return(
    book: ReturnBookRepository, order_id: str
) -> None:
    first = book.open(order_id, {"MUG": 2}, shipped=SHIPPED, request_id="same")
    again = book.open(order_id, {"MUG": 2}, shipped=SHIPPED, request_id="same")

    assert first.created
    assert not again.created
    assert again.number == first.number
    book_record = book.book(order_id)
    assert book_record is not None
    assert book_record.returned == {"MUG": 2}


def test_concurrent_requests_for_the_last_unit_exactly_one_wins(
    book: ReturnBookRepository, order_id: str
) -> None:
    def attempt(i: int) -> str:
        try:
            book.open(order_id, {"TEE": 1}, shipped=SHIPPED, request_id=f"r{i}")
        except NotReturnableError:
            return "refused"
        return "opened"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))

    assert sorted(outcomes) == ["opened", *["refused"] * 5]
    book_record = book.book(order_id)
    assert book_record is not None
    assert book_record.returned == {"TEE": 1}


def test_a_released_return_makes_its_units_returnable_again(
    book: ReturnBookRepository, order_id: str
) -> None:
    opened = book.open(order_id, {"MUG": 2}, shipped=SHIPPED, request_id="x")

    assert book.release(order_id, opened.number).undone
    assert not book.release(order_id, opened.number).undone  # idempotent
    again = book.open(order_id, {"MUG": 2}, shipped=SHIPPED, request_id="y")
    assert again.number == 2
    with pytest.raises(ReturnClosedError):
        book.receive(order_id, opened.number, {"MUG": 2})


def test_receiving_restocks_accepted_units_once_and_frees_the_rest(
    book: ReturnBookRepository, ledger: Ledger, order_id: str, sku: str
) -> None:
    ledger.set_stock(sku, 5)
    shipped = {sku: 3}
    opened = book.open(order_id, {sku: 3}, shipped=shipped, request_id="r")

    with pytest.raises(NotReturnableError):
        book.receive(order_id, opened.number, {sku: 4})  # more than the return holds
    assert book.receive(order_id, opened.number, {sku: 2}).undone
    assert not book.receive(order_id, opened.number, {sku: 2}).undone  # a retried attempt

    stock = ledger.get_stock(sku)
    assert stock is not None
    assert stock.available == 7
    record = book.get(order_id, opened.number)
    assert record is not None
    assert record.accepted == {sku: 2}
    # The unit that was not accepted can be returned again; the two accepted cannot.
    book.open(order_id, {sku: 1}, shipped=shipped, request_id="s")
    with pytest.raises(NotReturnableError):
        book.open(order_id, {sku: 1}, shipped=shipped, request_id="t")
