"""A subscription's activity options (the core's; its emails are its only activities).

Part of the workflow's contract (a workflow change when changed, guarded by `workflow.patched`).
"""

from __future__ import annotations

from typing import Final

from oms.orders.policies import NON_RETRYABLE as ORDER_ERRORS
from oms.process import policies
from oms.subscriptions.contract import SubscriptionErrorType

NON_RETRYABLE: Final = [*ORDER_ERRORS, *(e.value for e in SubscriptionErrorType)]

EMAIL: Final = policies.email(NON_RETRYABLE)
