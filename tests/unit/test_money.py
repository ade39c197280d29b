"""Money rules of the order message (§4, §6g): the currency's minor units, a positive total,
cards only, printable names and addresses."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from oms.local.demo_orders import order_body
from oms.orders import money
from oms.orders.iso_codes import CURRENCIES
from oms.orders.models import InvalidOrderError, OrderMessage, parse_order


def single_line(
    currency: str, price: str | int, quantity: int = 1
) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["currency"] = currency
        body["items"] = [{"sku": "MUG-RED", "quantity": quantity, "unitPrice": price}]
        body["totalAmount"] = str(Decimal(str(price)) * quantity)

    return change


def parsed(change: Callable[[dict[str, Any]], None]) -> OrderMessage:
    body = order_body("MONEY-1")
    change(body)
    return parse_order(json.dumps(body))


def reason(change: Callable[[dict[str, Any]], None]) -> str:
    with pytest.raises(InvalidOrderError) as raised:
        parsed(change)
    return raised.value.reason


@pytest.mark.parametrize(
    ("currency", "price", "minor"),
    [
        ("JPY", "1000", 1000),
        ("JPY", 1000, 1000),
        ("EUR", "12.5", 1250),
        ("KWD", "12.345", 12345),
        ("BHD", "0.001", 1),
        ("CLF", "1.2345", 12345),
    ],
)
def test_amounts_within_the_currency_minor_unit_are_integers_inside(
    currency: str, price: str | int, minor: int
) -> None:
    order = parsed(single_line(currency, price))
    assert order.total_minor == minor
    assert money.from_minor(order.total_minor, currency) == order.total_amount


@pytest.mark.parametrize(
    ("currency", "price", "allowed"),
    [("JPY", "1000.50", 0), ("KWD", "12.3456", 3), ("EUR", "12.345", 2)],
)
def test_more_places_than_the_currency_has_is_one_clear_line(
    currency: str, price: str, allowed: int
) -> None:
    text = reason(single_line(currency, price))
    assert f"more decimal places than {currency} allows ({allowed})" in text
    assert text.startswith("items[0].unitPrice:")
    assert "\n" not in text


def test_the_canonical_form_has_the_currency_places_so_fingerprints_are_stable() -> None:
    loose = parsed(single_line("KWD", "12.3"))
    written = parsed(single_line("KWD", "12.300"))
    assert str(loose.total_amount) == "12.300"
    assert loose.fingerprint() == written.fingerprint()


def test_a_total_of_zero_is_invalid() -> None:
    assert reason(single_line("EUR", "0.00")) == "totalAmount: must be greater than 0"


def test_only_cards_are_accepted() -> None:
    text = reason(lambda b: b["payment"].update(method="invoice"))
    assert text.startswith("payment.method:")
    assert "card" in text


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("name",), "Ada\x00Lovelace"),
        (("name",), "Ada\u202eecalevoL"),  # a right-to-left override
        (("address", "line1"), "12 Analytical St\nDROP"),
        (("address", "city"), "Lon\x1bdon"),
        (("address", "postalCode"), "NW1\x7f6XE"),
    ],
)
def test_control_characters_in_names_and_addresses_are_refused(
    where: tuple[str, ...], value: str
) -> None:
    def change(body: dict[str, Any]) -> None:
        target = body["customer"]
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value

    text = reason(change)
    assert "only printable text is allowed" in text
    assert value not in text  # the reason never echoes the customer's data


def test_names_in_any_script_stay_valid() -> None:
    # Persian needs the zero-width non-joiner (U+200C): a format character that stays allowed.
    name = "Zoë Ünal · 山田 · " + "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"
    order = parsed(lambda b: b["customer"].update(name=name))
    assert order.customer.name == name


def test_every_currency_has_a_known_minor_unit() -> None:
    assert set(money.EXPONENTS) <= CURRENCIES
    assert {money.exponent(c) for c in CURRENCIES} <= {0, 2, 3, 4}
    assert (money.exponent("JPY"), money.exponent("EUR"), money.exponent("KWD")) == (0, 2, 3)
