"""Review (§6g): an order whose total is above `OMS_REVIEW_ABOVE`, or that the provider's risk
check flags (`tok_riskLevelHighest`), waits IN_REVIEW after authorization until a person
approves or rejects it (`oms review`), at most `OMS_REVIEW_TIMEOUT`; no decision is a rejection.
A rejection cancels the order with reason REVIEW_REJECTED (voided, released, one email).

Deterministic workflow code, used by `OrderWorkflow`. Only a held order waits (its timer is a
billable action); others pass through without a command, so histories of orders that never
needed review replay unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

from oms.orders.contract import FailureReason, OrderState, Step
from oms.orders.payloads import ReviewRequest
from oms.process.runtime import CancelledError, Process


class ReviewGate:
    def __init__(self, *, above: int | None, timeout: timedelta) -> None:
        self.above = above
        self.timeout = timeout
        self.waiting = False  # IN_REVIEW now
        self.decision: ReviewRequest | None = None

    def needed(self, total_minor: int, *, flagged: bool) -> bool:
        return flagged or (self.above is not None and total_minor > self.above)

    async def hold(self, process: Process[Any]) -> None:
        """Wait for the decision; an approval returns, a rejection (or none in time) raises
        `CancelledError` with REVIEW_REJECTED as the cancellation reason."""
        self.waiting = True
        try:
            await workflow.wait_condition(
                lambda: self.decision is not None or process.cancelling(),
                timeout=self.timeout,
                timeout_summary="review timeout",
            )
        except TimeoutError:
            pass  # no decision in time: rejected below
        finally:
            self.waiting = False
        if process.cancelling():
            raise CancelledError
        if self.decision is None:
            process.record(Step.REVIEW, f"rejected: no decision within {self.timeout}")
        elif self.decision.approve:
            process.record(Step.REVIEW, f"approved: {self.decision.note}")
            return
        else:
            process.record(Step.REVIEW, f"rejected: {self.decision.note}")
        process.request_cancel(FailureReason.REVIEW_REJECTED.value)
        raise CancelledError

    def refusal(self, state: OrderState) -> str | None:
        if not self.waiting or self.decision is not None:
            return f"order is {state.value}, not waiting for a review"
        return None

    def decide(self, request: ReviewRequest) -> None:
        self.decision = request
