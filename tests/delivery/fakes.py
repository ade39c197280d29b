"""Delivery activities mocked by name for workflow tests: they record what they were asked."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

from oms.delivery.contract import DeliveryEmail
from oms.delivery.payloads import (
    DeliveryNotifyInput,
    ParcelRefundInput,
    ParcelRefundResult,
    ReshipInput,
    ReshipResult,
    RestockInput,
    RestockResult,
)
from oms.mail.mailer import NotifyResult


@dataclass
class FakeDelivery:
    failing_refunds: int = 0  # transient gateway failures before the refund goes through
    calls: Counter[str] = field(default_factory=Counter)
    emails: list[DeliveryEmail] = field(default_factory=list)
    email_keys: list[str] = field(default_factory=list)
    refunds: list[ParcelRefundInput] = field(default_factory=list)
    restocked: list[RestockInput] = field(default_factory=list)
    reships: list[ReshipInput] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="notify_delivery")
        async def notify_delivery(request: DeliveryNotifyInput) -> NotifyResult:
            self.calls["notify_delivery"] += 1
            self.emails.append(request.event)
            self.email_keys.append(request.email_key)
            return NotifyResult(message_id=f"msg-{len(self.emails)}")

        @activity.defn(name="refund_parcel")
        async def refund_parcel(request: ParcelRefundInput) -> ParcelRefundResult:
            self.calls["refund_parcel"] += 1
            if self.failing_refunds > 0:
                self.failing_refunds -= 1
                raise RuntimeError("gateway unavailable")
            self.refunds.append(request)
            return ParcelRefundResult(amount=request.amount)

        @activity.defn(name="restock_parcel")
        async def restock_parcel(request: RestockInput) -> RestockResult:
            self.calls["restock_parcel"] += 1
            self.restocked.append(request)
            return RestockResult(changed=True)

        @activity.defn(name="reship_parcel")
        async def reship_parcel(request: ReshipInput) -> ReshipResult:
            self.calls["reship_parcel"] += 1
            self.reships.append(request)
            return ReshipResult(tracking_number=f"TRK-NEW-{request.attempt}")

        return [notify_delivery, refund_parcel, restock_parcel, reship_parcel]
