"""Waiting for a condition with a deadline: the one poll loop of the product (tenacity).

`poll_until` asks `fetch` again until `done` says yes, with a short backoff, and raises
`PollTimeoutError` naming what it waited for when the deadline passes. Errors `fetch` raises
are retried only when listed in `retry_on`; any other error ends the wait at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_exponential,
)

T = TypeVar("T")


class PollTimeoutError(TimeoutError):
    """The condition did not hold before the deadline."""


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    within: timedelta | float,
    what: str,
    retry_on: tuple[type[BaseException], ...] = (),
    first: float = 0.05,
    most: float = 1.0,
) -> T:
    seconds = within.total_seconds() if isinstance(within, timedelta) else within
    retrying = AsyncRetrying(
        retry=retry_if_result(lambda value: not done(value)) | retry_if_exception_type(retry_on),
        stop=stop_after_delay(seconds),
        wait=wait_exponential(multiplier=first, max=most),
        reraise=False,
    )

    async def attempt() -> T:  # tenacity awaits only what it sees is a coroutine function
        return await fetch()

    try:
        result: T = await retrying(attempt)
    except RetryError as exc:
        last = exc.last_attempt
        why = f": {last.exception()}" if last.failed else ""
        raise PollTimeoutError(f"gave up waiting for {what} after {seconds:g} s{why}") from None
    return result
