"""Property tests of the money rules (§6g): random sequences of authorize, edit, capture per
parcel, refund per return and void against the payment book the gateway uses, in currencies
with 0, 2 and 3 decimal places. Whatever the sequence:
- never captured more than authorized, never refunded more than captured;
- a void only before capture, an edit (a new hold) only before capture;
- every amount an integer of the currency's minor unit;
- the total equals the lines, and the parcels' captures add up to it.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from oms.local.demo_orders import order_body
from oms.orders import money
from oms.orders.models import parse_order
from oms.orders.payment_book import MoneyRuleError, PaymentBook

CURRENCIES = ("JPY", "EUR", "KWD")
Line = tuple[str, int, int]  # sku, quantity, unit price in minor units

lines_strategy = st.lists(
    st.tuples(
        st.sampled_from([f"SKU-{i}" for i in range(8)]),
        st.integers(min_value=1, max_value=999),
        st.integers(min_value=1, max_value=10**7),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda line: line[0],
)


def total(lines: list[Line]) -> int:
    return sum(quantity * price for _, quantity, price in lines)


class PaymentMachine(RuleBasedStateMachine):
    @initialize(currency=st.sampled_from(CURRENCIES), lines=lines_strategy)
    def order(self, currency: str, lines: list[Line]) -> None:
        self.currency = currency
        self.lines = lines
        self.book = PaymentBook(currency=currency)
        self.parcels: list[list[Line]] = []  # fixed at the first capture
        self.captured_parcels = 0
        self.returned: dict[str, int] = {}

    @property
    def capture_started(self) -> bool:
        return self.book.captured > 0

    @precondition(lambda self: self.book.holds == 0)
    @rule()
    def authorize(self) -> None:
        if self.book.voided:  # cancelled before the hold: a late authorization must not hold
            with pytest.raises(MoneyRuleError):
                self.book.authorize(total(self.lines))
            return
        self.book = self.book.authorize(total(self.lines))

    @rule(lines=lines_strategy)
    def edit(self, lines: list[Line]) -> None:
        before = self.book
        if self.book.holds == 0 and not self.book.voided:
            self.lines = lines  # not authorized yet: the authorization will cover the new total
            return
        if self.book.voided or self.capture_started:
            with pytest.raises(MoneyRuleError):
                self.book.authorize(total(lines))
            assert self.book == before  # refused: nothing changes
            return
        self.book = self.book.authorize(total(lines))  # the new total's hold replaces the old
        self.lines = lines
        assert self.book.authorized == total(lines)

    @rule(split=st.integers(min_value=1, max_value=3))
    def capture_parcel(self, split: int) -> None:
        if self.book.voided or self.book.holds == 0:
            with pytest.raises(MoneyRuleError):
                self.book.capture(total(self.lines))
            return
        if not self.parcels:  # the order leaves in 1..3 parcels, fixed at the first capture
            size = max(1, -(-len(self.lines) // split))
            self.parcels = [self.lines[i : i + size] for i in range(0, len(self.lines), size)]
        if self.captured_parcels == len(self.parcels):
            return
        amount = total(self.parcels[self.captured_parcels])
        self.book = self.book.capture(amount)
        self.captured_parcels += 1

    @rule(extra=st.integers(min_value=1, max_value=10**6))
    def capture_too_much(self, extra: int) -> None:
        before = self.book
        with pytest.raises(MoneyRuleError):
            self.book.capture(self.book.capturable + extra)
        assert self.book == before

    @rule(pick=st.integers(min_value=0), quantity=st.integers(min_value=1, max_value=999))
    def refund_return(self, pick: int, quantity: int) -> None:
        shipped = [line for parcel in self.parcels[: self.captured_parcels] for line in parcel]
        if not shipped:
            before = self.book
            self.book, given = self.book.refund(quantity)
            assert given == 0  # nothing captured: nothing to give back
            assert self.book == before
            return
        sku, bought, price = shipped[pick % len(shipped)]
        returnable = bought - self.returned.get(sku, 0)
        quantity = min(quantity, returnable)
        if quantity == 0:
            return
        left = self.book.refundable
        self.book, given = self.book.refund(quantity * price)
        assert given == min(quantity * price, left)
        self.returned[sku] = self.returned.get(sku, 0) + quantity

    @rule()
    def void(self) -> None:
        if self.capture_started:
            with pytest.raises(MoneyRuleError):
                self.book.void()
            return
        self.book = self.book.void()
        assert self.book.capturable == 0

    @invariant()
    def money_rules_hold(self) -> None:
        book = self.book
        for amount in (book.authorized, book.captured, book.refunded):
            assert isinstance(amount, int)
            assert amount >= 0
        assert book.refunded <= book.captured <= book.authorized
        if book.holds:
            assert book.authorized == total(self.lines)
        if self.parcels and self.captured_parcels == len(self.parcels):
            assert book.captured == total(self.lines)  # the parcels add up to the total

    @invariant()
    def decimal_and_minor_agree(self) -> None:
        decimal = sum(
            (
                money.from_minor(price, self.currency) * quantity
                for _, quantity, price in self.lines
            ),
            Decimal(0),
        )
        assert money.to_minor(decimal, self.currency) == total(self.lines)


PaymentMachine.TestCase.settings = settings(
    max_examples=1200,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPaymentSequences = PaymentMachine.TestCase


@settings(max_examples=2000, deadline=None)
@given(currency=st.sampled_from(CURRENCIES), lines=lines_strategy)
def test_a_parsed_order_total_equals_its_lines_in_minor_units(
    currency: str, lines: list[Line]
) -> None:
    body = order_body("PROP-1")
    body["currency"] = currency
    body["items"] = [
        {"sku": sku, "quantity": quantity, "unitPrice": str(money.from_minor(price, currency))}
        for sku, quantity, price in lines
    ]
    body["totalAmount"] = str(money.from_minor(total(lines), currency))
    order = parse_order(json.dumps(body))
    assert order.total_minor == total(lines)
    assert [money.to_minor(line.unit_price, order.currency) for line in order.items] == [
        price for _, _, price in lines
    ]


@settings(max_examples=2000, deadline=None)
@given(
    currency=st.sampled_from(CURRENCIES),
    minor=st.integers(min_value=1, max_value=10**9),
    extra=st.integers(min_value=1, max_value=9),
)
def test_one_place_too_many_is_always_refused(currency: str, minor: int, extra: int) -> None:
    amount = money.from_minor(minor, currency) + Decimal(extra).scaleb(
        -money.exponent(currency) - 1
    )
    with pytest.raises(money.MoneyError):
        money.to_minor(amount, currency)
    assert money.to_minor(money.from_minor(minor, currency), currency) == minor
