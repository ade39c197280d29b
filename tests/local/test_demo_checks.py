"""A demo check that fails says about what, what was expected and what was found."""

from __future__ import annotations

from oms.local.demo import DemoOrderResult, plan
from oms.local.demo_orders import DEMO_STOCK
from oms.local.scenarios import outcome_checks
from oms.orders.contract import OrderState


def test_failing_checks_name_the_subject_the_expected_and_the_actual_value() -> None:
    orders = plan(run_id="T")[:2]  # a happy order and a cancelled one
    happy, cancelled = orders
    results = [
        DemoOrderResult(order_id=happy.order_id, scenario="happy", expected=OrderState.COMPLETED,
                        state=OrderState.COMPLETED, emails=2),
        DemoOrderResult(order_id=cancelled.order_id, scenario="cancelled",
                        expected=OrderState.CANCELLED, state=OrderState.COMPLETED, emails=1),
    ]  # fmt: skip
    before = dict.fromkeys(DEMO_STOCK, (100, 0))
    after = dict(before)
    after["TEE-L-BLK"] = (98, 0)  # both orders completed: one tee each
    after["MUG-RED"] = (96, -2)  # two mugs each, and `reserved` went negative

    checks = {c.what.split(" ")[0]: c for c in outcome_checks(orders, results, before, after)}

    assert checks["every"].detail == (f"{cancelled.order_id}: expected CANCELLED, got COMPLETED")
    assert checks["exactly"].detail == f"{happy.order_id}: 2 emails, expected 1"
    assert checks["stock"].detail == (
        "MUG-RED: expected available 96, reserved 0; got available 96, reserved -2"
    )
    assert not any(c.ok for c in checks.values() if c.detail)
