"""Activity options of the process core: part of each workflow's contract, so changing them is a
workflow change (replay tests cover it).

Steps before a flow's point of no return give up after `STEP_RETRY_BUDGET`; steps that must
finish (capture, ship, compensations, refunds, emails) retry until they succeed, and past the
flow's attention window it is marked NEEDS_ATTENTION while they go on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

STEP_RETRY_BUDGET: Final = timedelta(hours=1)
# A dead worker's attempt is retried after this (no heartbeats: the steps are short calls).
ATTEMPT_TIMEOUT: Final = timedelta(seconds=30)


@dataclass(frozen=True)
class Options:
    """Keyword arguments of `workflow.start_activity_method`, typed."""

    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy
    schedule_to_close_timeout: timedelta | None = None
    # The core never cancels an activity (it stops waiting for it instead: `runtime.Process`),
    # so no cancellation request is ever sent; ABANDON states that intent.
    cancellation_type: ActivityCancellationType = ActivityCancellationType.ABANDON

    def within(self, window: timedelta) -> Options:
        return replace(self, schedule_to_close_timeout=window)


def retry(maximum_interval: timedelta, non_retryable: Iterable[str]) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=maximum_interval,
        non_retryable_error_types=sorted(set(non_retryable)),
    )


def step(non_retryable: Iterable[str]) -> Options:
    """A step that may give up: bounded by schedule_to_close."""
    return Options(
        start_to_close_timeout=ATTEMPT_TIMEOUT,
        schedule_to_close_timeout=STEP_RETRY_BUDGET,
        retry_policy=retry(timedelta(minutes=1), non_retryable),
    )


def must_finish(non_retryable: Iterable[str]) -> Options:
    """A step that must finish once started: retried until it succeeds."""
    return Options(
        start_to_close_timeout=ATTEMPT_TIMEOUT,
        retry_policy=retry(timedelta(minutes=2), non_retryable),
    )


def email(non_retryable: Iterable[str]) -> Options:
    """An email: an outage delays it, never loses it."""
    return Options(
        start_to_close_timeout=ATTEMPT_TIMEOUT,
        retry_policy=retry(timedelta(minutes=10), non_retryable),
    )
