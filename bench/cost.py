"""The monthly cost table of docs/DEPLOY.md ("Cost per month"), computed, so it cannot drift.

    python -m bench.cost        # prints the table; tests/unit/test_cost_table.py checks the doc

Billable Temporal actions come from the counts the workflow tests assert on histories (8 per
happy order, 9-11 per delivered parcel, 12 per subscription cycle with its order); prices are
us-east-1 list prices, each with its source page. Looked up 2026-12-06 in this environment's
stored copies of the pages (no live access): check them on the pages before relying on them.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_MONTH = 730
ORDERS_PER_MONTH_AT_1_PER_S = 2_628_000  # 1 order/s x 730 h

# Billable actions (tests/workflows/test_order_workflow.py HAPPY_ACTIONS,
# tests/delivery/test_workflow.py 9..11, tests/subscriptions/test_workflow.py 12).
ACTIONS_PER_ORDER = 8
ACTIONS_PER_DELIVERY = (9, 11)
ACTIONS_PER_SUBSCRIPTION_CYCLE = 12


@dataclass(frozen=True)
class Price:
    amount: float
    unit: str
    source: str


PRICES = {
    "temporal_action": Price(
        50 / 1e6,
        "action (first tier)",
        "https://temporal.io/pricing, docs.temporal.io/cloud/pricing",
    ),
    "fargate_vcpu_h": Price(
        0.03238, "vCPU-hour, Linux/ARM", "https://aws.amazon.com/fargate/pricing/"
    ),
    "fargate_gb_h": Price(0.00356, "GB-hour, Linux/ARM", "https://aws.amazon.com/fargate/pricing/"),
    "nat_h": Price(0.045, "NAT gateway hour", "https://aws.amazon.com/vpc/pricing/"),
    "nat_gb": Price(0.045, "GB processed", "https://aws.amazon.com/vpc/pricing/"),
    "ipv4_h": Price(0.005, "public IPv4 hour", "https://aws.amazon.com/vpc/pricing/"),
    "ses_email": Price(0.10 / 1000, "email", "https://aws.amazon.com/ses/pricing/"),
    "sqs_request": Price(0.40 / 1e6, "request", "https://aws.amazon.com/sqs/pricing/"),
    "lambda_request": Price(0.20 / 1e6, "request", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s": Price(
        0.0000133334, "GB-second, arm64", "https://aws.amazon.com/lambda/pricing/"
    ),
    "dynamodb_wru": Price(
        0.625 / 1e6, "write request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"
    ),
    "dynamodb_rru": Price(
        0.125 / 1e6, "read request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"
    ),
}


@dataclass(frozen=True)
class Usage:
    """Per-order quantities: assumptions, said in the doc next to the table."""

    workers: int = 2
    vcpu: float = 0.5
    memory_gb: float = 1.0
    nat_gb_per_order: float = 30e-6  # ~30 KB through the NAT per order (an estimate)
    emails_per_order: int = 1
    sqs_requests_per_order: int = 3
    lambda_seconds_per_order: float = 0.05
    lambda_memory_gb: float = 0.5
    # The ledger's transactional writes cost 2 write units per item (an estimate: 6 items).
    write_units_per_order: int = 12
    read_units_per_order: int = 4


def p(name: str) -> float:
    return PRICES[name].amount


def rows(orders: int, usage: Usage = Usage()) -> list[tuple[str, float, float, str]]:
    """(item, idle $/month, $/month at `orders` orders, how) for each item."""
    fargate = (
        usage.workers
        * HOURS_PER_MONTH
        * (usage.vcpu * p("fargate_vcpu_h") + usage.memory_gb * p("fargate_gb_h"))
    )
    nat_idle = HOURS_PER_MONTH * (p("nat_h") + p("ipv4_h"))
    lambda_per_order = p("lambda_request") + (
        usage.lambda_seconds_per_order * usage.lambda_memory_gb * p("lambda_gb_s")
    )
    return [
        (
            "Fargate workers",
            fargate,
            fargate,
            f"{usage.workers} x {usage.vcpu} vCPU / {usage.memory_gb:g} GB arm64",
        ),
        (
            "NAT gateway + its IPv4",
            nat_idle,
            nat_idle + orders * usage.nat_gb_per_order * p("nat_gb"),
            "1 NAT; ~30 KB per order",
        ),
        ("Starter Lambda", 0.0, orders * lambda_per_order, "arm64, 512 MB, ~50 ms per order"),
        (
            "SQS",
            0.0,
            orders * usage.sqs_requests_per_order * p("sqs_request"),
            "3 requests per order",
        ),
        (
            "DynamoDB on demand",
            0.0,
            orders
            * (
                usage.write_units_per_order * p("dynamodb_wru")
                + usage.read_units_per_order * p("dynamodb_rru")
            ),
            "12 write units, 4 read units per order",
        ),
        ("SES", 0.0, orders * usage.emails_per_order * p("ses_email"), "1 email per order"),
        (
            "Temporal Cloud actions",
            0.0,
            orders * ACTIONS_PER_ORDER * p("temporal_action"),
            f"{ACTIONS_PER_ORDER} per order, first tier",
        ),
    ]


def money(value: float) -> str:
    return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"


def table(orders: int = ORDERS_PER_MONTH_AT_1_PER_S) -> str:
    lines = ["| Item | Idle | 1 order/s | How |", "|---|---:|---:|---|"]
    computed = rows(orders)
    for item, idle, busy, how in computed:
        lines.append(f"| {item} | {money(idle)} | {money(busy)} | {how} |")
    idle = sum(r[1] for r in computed)
    busy = sum(r[2] for r in computed)
    lines.append(f"| **Total (these items)** | **{money(idle)}** | **{money(busy)}** | |")
    low, high = ACTIONS_PER_DELIVERY
    delivery = orders * high * p("temporal_action") + orders * 3 * p("ses_email")
    lines.append(
        f"| + one delivered parcel per order | $0 | {money(delivery)} | {low}-{high} actions "
        f"({high} priced) and 3 emails per parcel |"
    )
    subscriber = ACTIONS_PER_SUBSCRIPTION_CYCLE * p("temporal_action") + 2 * p("ses_email")
    lines.append(
        f"| per subscriber and month | $0 | ${subscriber:.4f} | {ACTIONS_PER_SUBSCRIPTION_CYCLE} "
        "actions (with its order) and 2 emails per cycle |"
    )
    return "\n".join(lines)


def sources() -> str:
    seen: dict[str, list[str]] = {}
    for price in PRICES.values():
        seen.setdefault(price.source, []).append(f"{price.amount:.10g} per {price.unit}")
    return "\n".join(f"- {src}: {'; '.join(items)}" for src, items in seen.items())


if __name__ == "__main__":
    print(table())
    print()
    print(sources())
