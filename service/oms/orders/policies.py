"""The order's activity options (the core's, with the order's business error types).

Part of the workflow's contract: changing them is a workflow change (replay tests cover it).
"""

from __future__ import annotations

from typing import Final

from oms.orders.contract import ErrorType
from oms.process import policies

NON_RETRYABLE: Final = [e.value for e in ErrorType]

STEP: Final = policies.step(NON_RETRYABLE)
MUST_FINISH: Final = policies.must_finish(NON_RETRYABLE)
EMAIL: Final = policies.email(NON_RETRYABLE)
