"""Timeouts and retry policies per activity: part of the workflow's contract, so changing them
is a workflow change (replay tests cover it).

Business errors are non-retryable. Steps before shipping give up after `STEP_RETRY_BUDGET` of
retries (an outage longer than that fails the order, and what was done is undone); shipping,
compensations and the email retry until they succeed: once started they must finish.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from temporalio.common import RetryPolicy

from oms.orders.contract import ErrorType

STEP_RETRY_BUDGET: Final = timedelta(hours=1)

_BUSINESS_ERRORS: Final = [
    ErrorType.OUT_OF_STOCK,
    ErrorType.PAYMENT_DECLINED,
    ErrorType.ALREADY_COMPENSATED,
    ErrorType.ALREADY_SHIPPED,
]


def _retry(maximum_interval: timedelta) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=maximum_interval,
        non_retryable_error_types=list(_BUSINESS_ERRORS),
    )


# Steps that may give up: bounded by schedule_to_close.
STEP: Final[dict[str, Any]] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "schedule_to_close_timeout": STEP_RETRY_BUDGET,
    "retry_policy": _retry(timedelta(minutes=1)),
}

# Steps that must finish once started (shipping, compensations): retried until they succeed.
MUST_FINISH: Final[dict[str, Any]] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": _retry(timedelta(minutes=2)),
}

# The email: an outage delays it, never loses it.
EMAIL: Final[dict[str, Any]] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": _retry(timedelta(minutes=10)),
}
