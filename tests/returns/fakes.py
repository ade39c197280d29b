"""Return activities mocked by name for workflow tests: they record what they were asked."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from temporalio import activity

from oms.mail.mailer import NotifyResult
from oms.returns.contract import ReturnEvent
from oms.returns.payloads import (
    LedgerResult,
    RefundReturnInput,
    RefundReturnResult,
    RestockInput,
    ReturnNotifyInput,
    ReturnRef,
)


@dataclass
class FakeReturns:
    refund_cap: Decimal | None = None  # the gateway refunds at most this much
    failing_emails: int = 0  # transient SES failures before an email goes out
    calls: Counter[str] = field(default_factory=Counter)
    refunds: list[RefundReturnInput] = field(default_factory=list)
    restocked: list[dict[str, int]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    emails: list[ReturnEvent] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="refund_return")
        async def refund_return(request: RefundReturnInput) -> RefundReturnResult:
            self.calls["refund_return"] += 1
            self.refunds.append(request)
            cap = self.refund_cap
            return RefundReturnResult(
                amount=request.amount if cap is None else min(cap, request.amount)
            )

        @activity.defn(name="restock_return")
        async def restock_return(request: RestockInput) -> LedgerResult:
            self.calls["restock_return"] += 1
            self.restocked.append(request.accepted)
            return LedgerResult(changed=True)

        @activity.defn(name="release_return")
        async def release_return(request: ReturnRef) -> LedgerResult:
            self.calls["release_return"] += 1
            self.released.append(request.number)
            return LedgerResult(changed=True)

        @activity.defn(name="notify_return")
        async def notify_return(request: ReturnNotifyInput) -> NotifyResult:
            self.calls["notify_return"] += 1
            if self.failing_emails > 0:
                self.failing_emails -= 1
                raise RuntimeError("SES unavailable")
            self.emails.append(request.event)
            return NotifyResult(message_id=f"msg-{len(self.emails)}")

        return [refund_return, restock_return, release_return, notify_return]
