"""What every flow shows in Temporal's visibility: the one query for "needs a person".

Every flow on the core (orders, returns, and the flows after them) upserts the `OrderStatus`
keyword to NEEDS_ATTENTION while a person is needed; a flow that needs one waits open until it
is settled, so the running ones are exactly what `oms doctor` and the attention metric count.
"""

from __future__ import annotations

from typing import Final

from temporalio.common import SearchAttributeKey

from oms.process.runtime import NEEDS_ATTENTION

# The keyword every flow on the core keeps (named for the orders that came first; register it on
# the namespace): IN_PROGRESS, the outcome, or NEEDS_ATTENTION.
ORDER_STATUS_ATTRIBUTE: Final = "OrderStatus"
ORDER_STATUS_KEY: Final = SearchAttributeKey.for_keyword(ORDER_STATUS_ATTRIBUTE)


def attention_query(task_queue: str | None = None) -> str:
    """Running workflows of any flow that need a person (of one task queue, if given)."""
    query = f"{ORDER_STATUS_ATTRIBUTE} = '{NEEDS_ATTENTION}' AND ExecutionStatus = 'Running'"
    if task_queue is not None:
        query += f" AND TaskQueue = '{task_queue}'"
    return query
