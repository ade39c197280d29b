"""A return's activity options (the core's, with the returns' business error types).

Part of the workflow's contract (a workflow change when changed, guarded by `workflow.patched`).
"""

from __future__ import annotations

from typing import Final

from oms.orders.policies import NON_RETRYABLE as ORDER_ERRORS
from oms.process import policies
from oms.returns.contract import ReturnErrorType

NON_RETRYABLE: Final = [*ORDER_ERRORS, *(e.value for e in ReturnErrorType)]

STEP: Final = policies.step(NON_RETRYABLE)
MUST_FINISH: Final = policies.must_finish(NON_RETRYABLE)
EMAIL: Final = policies.email(NON_RETRYABLE)
