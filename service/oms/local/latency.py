"""The demo's simulated step latency, injected from outside the product: an activity
interceptor that waits before each activity runs. Only `oms dev` workers install it."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, nxt: ActivityInboundInterceptor, seconds: float) -> None:
        super().__init__(nxt)
        self._seconds = seconds

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        await asyncio.sleep(self._seconds)
        return await super().execute_activity(input)


class LatencyInterceptor(Interceptor):
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self._seconds)
