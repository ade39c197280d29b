"""Every rule of the order message (CONTRACT.md §4), accepted and rejected, naming the field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from oms.local.demo_orders import order_body
from oms.orders.models import MAX_BODY_BYTES, InvalidOrderError, parse_order

SPEC_EXAMPLE = {
    "orderId": "ORD-1001",
    "customer": {
        "id": "CUST-42",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "address": {
            "line1": "12 Analytical St",
            "city": "London",
            "postalCode": "NW1 6XE",
            "country": "GB",
        },
    },
    "items": [
        {"sku": "MUG-RED", "quantity": 2, "unitPrice": "12.50"},
        {"sku": "TEE-L-BLK", "quantity": 1, "unitPrice": "20.00"},
    ],
    "payment": {"method": "card", "token": "tok_visa"},
    "currency": "EUR",
    "totalAmount": "45.00",
}


def mutated(change: Callable[[dict[str, Any]], None]) -> str:
    body = copy.deepcopy(SPEC_EXAMPLE)
    change(body)
    return json.dumps(body)


def test_the_spec_example_parses_to_snake_case_with_decimal_money() -> None:
    order = parse_order(json.dumps(SPEC_EXAMPLE))
    assert order.order_id == "ORD-1001"
    assert order.customer.address.postal_code == "NW1 6XE"
    assert order.items[0].unit_price == Decimal("12.50")
    assert isinstance(order.total_amount, Decimal)
    assert order.model_dump(mode="json", by_alias=True)["totalAmount"] == "45.00"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda b: b["items"][0].update(unitPrice=12.5), id="price-as-number"),
        pytest.param(lambda b: b.update(totalAmount=45), id="total-as-integer"),
        pytest.param(
            lambda b: (
                b["items"][0].update(quantity=999, unitPrice="0.01")
                or b.update(totalAmount="29.99")
            ),
            id="quantity-999",
        ),
        pytest.param(lambda b: b.update(orderId="a" * 64), id="order-id-64-chars"),
        pytest.param(lambda b: b.update(orderId="A.b_c-9"), id="order-id-punctuation"),
        pytest.param(
            lambda b: b.update(
                items=[{"sku": f"S{i}", "quantity": 1, "unitPrice": "1"} for i in range(50)],
                totalAmount="50",
            ),
            id="fifty-lines",
        ),
        pytest.param(lambda b: b["customer"]["address"].update(country="FR"), id="country-fr"),
        pytest.param(
            lambda b: b.update(
                currency="JPY",
                items=[{"sku": "MUG-RED", "quantity": 2, "unitPrice": "1250"}],
                totalAmount="2500",
            ),
            id="currency-jpy-whole-yen",
        ),
    ],
)
def test_valid_variants_are_accepted(change: Callable[[dict[str, Any]], None]) -> None:
    parse_order(mutated(change))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(totalAmount="44.99"), "totalAmount"),
        (lambda b: b["items"][0].update(quantity=0), "items[0].quantity"),
        (lambda b: b["items"][0].update(quantity=1000), "items[0].quantity"),
        (lambda b: b["items"][0].update(quantity=1.5), "items[0].quantity"),
        (lambda b: b["items"][0].update(quantity="2"), "items[0].quantity"),
        (lambda b: b["items"][0].update(unitPrice="12.505"), "items[0].unitPrice"),
        (lambda b: b["items"][0].update(unitPrice="-1.00"), "items[0].unitPrice"),
        (lambda b: b["items"][0].update(unitPrice="NaN"), "items[0].unitPrice"),
        (lambda b: b.update(totalAmount="45.001"), "totalAmount"),
        (lambda b: b.update(items=[]), "items"),
        (
            lambda b: b.update(
                items=[{"sku": f"S{i}", "quantity": 1, "unitPrice": "1"} for i in range(51)],
                totalAmount="51",
            ),
            "items",
        ),
        (
            lambda b: b["items"].append(dict(b["items"][0])) or b.update(totalAmount="70.00"),
            "items",
        ),
        (lambda b: b.update(orderId="-starts-with-dash"), "orderId"),
        (lambda b: b.update(orderId="a" * 65), "orderId"),
        (lambda b: b.update(orderId="has space"), "orderId"),
        (lambda b: b["customer"].update(email="not-an-email"), "customer.email"),
        (lambda b: b.update(currency="JPY"), "items[0].unitPrice"),  # 12.50 yen
        (lambda b: b.update(currency="EURO"), "currency"),
        (lambda b: b.update(currency="XYZ"), "currency"),
        (lambda b: b["customer"]["address"].update(country="UK"), "customer.address.country"),
        (lambda b: b["customer"].pop("email"), "customer.email"),
        (lambda b: b.pop("payment"), "payment"),
        (lambda b: b.update(unexpected=True), "unexpected"),
    ],
)
def test_each_rule_rejects_with_the_field_named(
    change: Callable[[dict[str, Any]], None], field: str
) -> None:
    with pytest.raises(InvalidOrderError) as raised:
        parse_order(mutated(change))
    assert raised.value.reason.startswith(f"{field}:") or f"{field}:" in raised.value.reason


def test_not_json_is_invalid() -> None:
    with pytest.raises(InvalidOrderError, match="not valid JSON"):
        parse_order("{this is not json")


@pytest.mark.parametrize("body", ["[]", '"order"', "null"])
def test_json_that_is_not_an_object_is_invalid(body: str) -> None:
    with pytest.raises(InvalidOrderError):
        parse_order(body)


def test_a_body_over_64_kib_is_invalid_before_parsing() -> None:
    body = json.dumps(SPEC_EXAMPLE | {"pad": "x" * MAX_BODY_BYTES})
    with pytest.raises(InvalidOrderError, match="limit is 65536"):
        parse_order(body)


def test_errors_do_not_echo_personal_data() -> None:
    with pytest.raises(InvalidOrderError) as raised:
        parse_order(mutated(lambda b: b["customer"].update(email="ada-at-example.com")))
    assert "ada-at-example.com" not in raised.value.reason


def test_fingerprint_is_stable_across_formatting_and_differs_on_content() -> None:
    one = parse_order(json.dumps(SPEC_EXAMPLE))
    reformatted = parse_order(mutated(lambda b: b["items"][0].update(unitPrice=12.5)))
    changed = parse_order(mutated(lambda b: b["payment"].update(token="tok_other")))
    assert one.fingerprint() == reformatted.fingerprint()
    assert one.fingerprint() != changed.fingerprint()


def test_payment_token_is_not_in_repr() -> None:
    assert "tok_visa" not in repr(parse_order(json.dumps(SPEC_EXAMPLE)))


def test_demo_factory_builds_valid_orders() -> None:
    order = parse_order(json.dumps(order_body("DEMO-1", lines={"MUG-RED": 3})))
    assert order.total_amount == Decimal("37.50")


def test_an_order_may_say_its_type_and_is_then_the_same_order() -> None:
    """CONTRACT.md §4: orders have no `type`, or `"type": "order"`; another type is refused."""
    body = order_body("ORD-TYPED")
    typed = parse_order(json.dumps({**body, "type": "order"}))
    assert typed.fingerprint() == parse_order(json.dumps(body)).fingerprint()
    with pytest.raises(InvalidOrderError, match="type"):
        parse_order(json.dumps({**body, "type": "invoice"}))
