"""Timeouts and retry policies of a return's activities (a workflow change when changed).

Everything after the parcel arrived (refund, restock, the emails) and the release of an expired
or cancelled return must finish: retried until it succeeds. Business answers are not retried.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from temporalio.common import RetryPolicy

from oms.orders.policies import ATTEMPT_TIMEOUT, NON_RETRYABLE, Options
from oms.returns.contract import ReturnErrorType

_NON_RETRYABLE: Final = [*NON_RETRYABLE, *(e.value for e in ReturnErrorType)]


def _retry(maximum_interval: timedelta) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=maximum_interval,
        non_retryable_error_types=_NON_RETRYABLE,
    )


MUST_FINISH: Final = Options(
    start_to_close_timeout=ATTEMPT_TIMEOUT, retry_policy=_retry(timedelta(minutes=2))
)
EMAIL: Final = Options(
    start_to_close_timeout=ATTEMPT_TIMEOUT, retry_policy=_retry(timedelta(minutes=10))
)
