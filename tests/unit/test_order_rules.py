"""Rules found by adversarial runs: what SES accepts, money that is money, one key once,
dead-letter reasons that fit in SQS."""

from __future__ import annotations

import json

import pytest

from oms.intake.records import SQS_MAX_BYTES, _fitting, _printable
from oms.local.demo_orders import order_body
from oms.orders.models import InvalidOrderError, parse_order


def with_email(email: str) -> str:
    body = order_body("ORD-EMAIL")
    body["customer"]["email"] = email
    return json.dumps(body)


@pytest.mark.parametrize(
    "email",
    ["jörg@example.com", "a" * 65 + "@example.com", "not-an-address"],
    ids=["non-ascii-local-part", "local-part-over-64", "no-at-sign"],
)
def test_addresses_ses_would_refuse_are_invalid(email: str) -> None:
    with pytest.raises(InvalidOrderError) as invalid:
        parse_order(with_email(email))
    assert "customer.email" in invalid.value.reason


def test_an_international_domain_is_kept_in_its_ascii_form() -> None:
    order = parse_order(with_email("user@bücher.de"))
    assert order.customer.email == "user@xn--bcher-kva.de"


@pytest.mark.parametrize("code", ["XXX", "XTS", "XAU", "XDR"])
def test_iso_codes_that_are_not_money_are_refused(code: str) -> None:
    body = order_body("ORD-CUR")
    body["currency"] = code
    with pytest.raises(InvalidOrderError) as invalid:
        parse_order(json.dumps(body))
    assert "currency" in invalid.value.reason


def test_real_x_currencies_are_accepted() -> None:
    body = order_body("ORD-XOF", lines={"MUG-RED": 1})
    body["currency"] = "XOF"  # no minor unit: whole francs only
    body["items"][0]["unitPrice"] = body["totalAmount"] = "1250"
    assert parse_order(json.dumps(body)).currency == "XOF"


def test_a_key_named_twice_is_invalid() -> None:
    raw = json.dumps(order_body("ORD-FIRST"))
    twice = raw[:-1] + ', "orderId": "ORD-SECOND"}'
    with pytest.raises(InvalidOrderError) as invalid:
        parse_order(twice)
    assert "duplicate key 'orderId'" in invalid.value.reason


def test_dead_letter_reasons_are_printable_and_fit_next_to_the_body() -> None:
    assert _printable("bad\x00\x1b[31mred\n") == "bad??[31mred?"
    body = "x" * (SQS_MAX_BYTES - 600)
    reason = _fitting("why " * 500, body)
    assert len(body.encode()) + len(reason.encode()) + 512 <= SQS_MAX_BYTES
    assert reason.startswith("why")
