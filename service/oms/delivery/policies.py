"""A delivery's activity options (the core's). Part of the workflow's contract: a change is a
workflow change, guarded by `workflow.patched` (deliveries auto-upgrade while they wait)."""

from __future__ import annotations

from typing import Final

from oms.delivery.contract import DeliveryErrorType
from oms.orders.policies import NON_RETRYABLE as ORDER_ERRORS
from oms.process import policies

NON_RETRYABLE: Final = [*ORDER_ERRORS, *(e.value for e in DeliveryErrorType)]

MUST_FINISH: Final = policies.must_finish(NON_RETRYABLE)
EMAIL: Final = policies.email(NON_RETRYABLE)
