"""Demo orders and the stock they need: the scenarios of `oms demo` / `oms dev`, also used by
the tests and the benchmark. Customers are fictional; addresses use example.com."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oms.orders.contract import FailureReason, OrderState

CATALOGUE = {
    "MUG-RED": Decimal("12.50"),
    "TEE-L-BLK": Decimal("20.00"),
    "CAP-GRN": Decimal("15.00"),
    "SOCKS-3PK": Decimal("9.99"),
}
SOLD_OUT_SKU = "POSTER-SOLDOUT"
PRICES = {**CATALOGUE, SOLD_OUT_SKU: Decimal("5.00")}
DEMO_STOCK = dict.fromkeys(CATALOGUE, 10000) | {SOLD_OUT_SKU: 0}


@dataclass(frozen=True)
class Scenario:
    name: str
    expected: OrderState
    reason: str | None = None
    token: str = "tok_visa"
    cancel: bool = False  # cancel while the order is in flight
    sold_out: bool = False


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("happy", OrderState.COMPLETED),
        Scenario("cancelled", OrderState.CANCELLED, "customer changed their mind", cancel=True),
        Scenario("out-of-stock", OrderState.FAILED, FailureReason.OUT_OF_STOCK, sold_out=True),
        Scenario("declined", OrderState.FAILED, FailureReason.PAYMENT_DECLINED, "tok_declined"),
        Scenario("flaky-payment", OrderState.COMPLETED, token="tok_flaky"),
        Scenario(
            "capture-declined",
            OrderState.FAILED,
            FailureReason.PAYMENT_DECLINED,
            "tok_capture_declined",
        ),
    )
}


def order_body(
    order_id: str,
    *,
    lines: dict[str, int] | None = None,
    token: str = "tok_visa",
    prices: dict[str, Decimal] | None = None,
    customer: int = 1,
) -> dict[str, Any]:
    """A valid order message (wire format, camelCase) for the given SKUs and quantities."""
    lines = lines or {"MUG-RED": 2, "TEE-L-BLK": 1}
    prices = prices or PRICES
    total = sum(
        (prices.get(sku, Decimal("1.00")) * quantity for sku, quantity in lines.items()),
        Decimal("0.00"),
    )
    items = [
        {"sku": sku, "quantity": quantity, "unitPrice": str(prices.get(sku, Decimal("1.00")))}
        for sku, quantity in lines.items()
    ]
    return {
        "orderId": order_id,
        "customer": {
            "id": f"CUST-{customer}",
            "name": f"Demo Customer {customer}",
            "email": f"customer{customer}@example.com",
            "address": {
                "line1": "1 Example Street",
                "city": "London",
                "postalCode": "NW1 6XE",
                "country": "GB",
            },
        },
        "items": items,
        "payment": {"method": "card", "token": token},
        "currency": "EUR",
        "totalAmount": str(total),
    }


def scenario_body(scenario: Scenario, order_id: str, customer: int = 1) -> dict[str, Any]:
    lines = {"MUG-RED": 1, SOLD_OUT_SKU: 1} if scenario.sold_out else None
    return order_body(order_id, lines=lines, token=scenario.token, customer=customer)
