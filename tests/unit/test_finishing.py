"""`oms status` of an order whose outcome is decided but whose email is still being sent."""

from __future__ import annotations

from oms.cli.views import finishing
from oms.orders.client import WorkflowInfo
from oms.orders.contract import OrderState
from oms.orders.payloads import OrderStatus


def _info(status: str, *pending: tuple[str, int]) -> WorkflowInfo:
    return WorkflowInfo("order-F-1", status, "order-processing", None, None, tuple(pending))


def test_an_outcome_still_being_emailed_says_so_with_the_attempt() -> None:
    done = OrderStatus(order_id="F-1", state=OrderState.COMPLETED)

    assert finishing(done, _info("RUNNING", ("notify_customer", 3))) == "emailing (attempt 3)"
    assert finishing(done, _info("COMPLETED")) is None


def test_an_order_in_flight_is_not_finishing() -> None:
    running = OrderStatus(order_id="F-1", state=OrderState.RESERVED)

    assert finishing(running, _info("RUNNING", ("authorize_payment", 1))) is None
