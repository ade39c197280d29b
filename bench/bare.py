"""The ceiling: the product's workflow shape with nothing inside.

Six sequential no-op activities (reserve, authorize, prepare, capture, ship, then the email)
and one search-attribute upsert at the outcome, like `OrderWorkflow`; started with
`OrderStatus=IN_PROGRESS` like the intake does. What it costs is Temporal plus the Python SDK
on this machine: the best the product could do with free activities.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from oms.orders.contract import ORDER_STATUS_KEY

STEPS_BEFORE_SHIPPING = ("RESERVED", "AUTHORIZED", "PREPARED", "PAID", "SHIPPED")
ACTIVITY_OPTIONS = {"start_to_close_timeout": timedelta(seconds=30)}


@activity.defn
def noop_step(order_id: str) -> str:
    """Synchronous, like the product's activities, so it runs on the same thread pool."""
    return order_id


@workflow.defn
class BareOrderWorkflow:
    @workflow.run
    async def run(self, order_id: str) -> str:
        for _state in STEPS_BEFORE_SHIPPING:
            await workflow.execute_activity(noop_step, order_id, **ACTIVITY_OPTIONS)
        await workflow.execute_activity(noop_step, order_id, **ACTIVITY_OPTIONS)  # the email
        workflow.upsert_search_attributes([ORDER_STATUS_KEY.value_set("COMPLETED")])
        return "COMPLETED"
