"""docs/DEPLOY.md's cost table is what bench/cost.py computes, from the action counts the
workflow tests assert (so neither the prices' arithmetic nor the actions can drift)."""

from __future__ import annotations

import re
from pathlib import Path

from bench import cost

ROOT = Path(__file__).resolve().parents[2]


def test_the_cost_table_in_the_doc_is_the_computed_one() -> None:
    doc = (ROOT / "docs" / "DEPLOY.md").read_text()
    block = doc.split("<!-- cost-table:begin -->\n")[1].split("\n<!-- cost-table:end -->")[0]
    assert block == cost.table(), "run `python -m bench.cost` and paste the table"


def test_the_actions_priced_are_the_ones_the_workflow_tests_count() -> None:
    orders = (ROOT / "tests" / "workflows" / "test_order_workflow.py").read_text()
    assert re.search(rf"^HAPPY_ACTIONS = {cost.ACTIONS_PER_ORDER}\b", orders, re.M)
    low, high = cost.ACTIONS_PER_DELIVERY
    delivery = (ROOT / "tests" / "delivery" / "test_workflow.py").read_text()
    assert f"assert {low} <= outcome.actions <= {high}" in delivery
    cycles = (ROOT / "tests" / "subscriptions" / "test_workflow.py").read_text()
    n = cost.ACTIONS_PER_SUBSCRIPTION_CYCLE
    assert f"for n in (1, 12, 22)] == [{n}, {n}, {n}]" in cycles


def test_every_price_names_its_page() -> None:
    assert all(p.source.split(", ")[0].startswith("https://") for p in cost.PRICES.values())
