"""Timeouts and retry policies: part of the workflow's contract, so changing them is a workflow
change (replay tests cover it).

Business errors are non-retryable. Steps before the point of no return give up after
`STEP_RETRY_BUDGET` (an outage longer than that fails the order, and what was done is undone);
steps that must finish (capture, ship, compensations, the email) retry until they succeed, and
after the order's attention window the order is marked NEEDS_ATTENTION while they go on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from oms.orders.contract import ErrorType

STEP_RETRY_BUDGET: Final = timedelta(hours=1)
# A dead worker's attempt is retried after this (no heartbeats: they would cost nothing in
# actions, but the steps are short database calls).
ATTEMPT_TIMEOUT: Final = timedelta(seconds=30)

NON_RETRYABLE: Final = [e.value for e in ErrorType]


@dataclass(frozen=True)
class Options:
    """Keyword arguments of `workflow.start_activity_method`, typed."""

    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy
    schedule_to_close_timeout: timedelta | None = None
    # A step the order stops waiting for (a cancellation, an operator's resolve) is abandoned,
    # not cancelled: our activities do not heartbeat, so a cancel request could not reach them,
    # and the compensations' tombstones make any late attempt harmless.
    cancellation_type: ActivityCancellationType = ActivityCancellationType.ABANDON

    def within(self, window: timedelta) -> Options:
        return replace(self, schedule_to_close_timeout=window)


def _retry(maximum_interval: timedelta) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=maximum_interval,
        non_retryable_error_types=NON_RETRYABLE,
    )


# Steps that may give up: bounded by schedule_to_close.
STEP: Final = Options(
    start_to_close_timeout=ATTEMPT_TIMEOUT,
    schedule_to_close_timeout=STEP_RETRY_BUDGET,
    retry_policy=_retry(timedelta(minutes=1)),
)

# Steps that must finish once started (capture, ship, compensations): retried until they succeed.
MUST_FINISH: Final = Options(
    start_to_close_timeout=ATTEMPT_TIMEOUT, retry_policy=_retry(timedelta(minutes=2))
)

# The email: an outage delays it, never loses it.
EMAIL: Final = Options(
    start_to_close_timeout=ATTEMPT_TIMEOUT, retry_policy=_retry(timedelta(minutes=10))
)
