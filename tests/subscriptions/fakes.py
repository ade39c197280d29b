"""The order saga's and the subscription's activities mocked by name: an order's payment is
declined for `tok_declined` (as the simulated gateway does), and a step can be held open."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.mail.mailer import NotifyResult
from oms.orders.contract import ErrorType
from oms.orders.payloads import (
    AuthorizeInput,
    AuthorizeResult,
    CaptureInput,
    CaptureResult,
    CompensationResult,
    NotifyInput,
    OrderRef,
    PrepareInput,
    PrepareResult,
    ReserveInput,
    ReserveResult,
    ShipInput,
    ShipResult,
)
from oms.subscriptions.contract import SubscriptionEvent
from oms.subscriptions.payloads import SubscriptionNotifyInput

COMPENSATIONS = ["release_inventory", "void_payment", "refund_payment", "cancel_shipment"]


@dataclass
class FakeShop:
    reserved: dict[str, dict[str, int]] = field(default_factory=dict)  # order id -> lines
    steps: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    order_emails: list[str] = field(default_factory=list)  # "<orderId> <outcome>"
    emails: list[tuple[SubscriptionEvent, str]] = field(default_factory=list)
    hold: str | None = None  # an activity that waits inside until `go` is set
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)

    def events(self, event: SubscriptionEvent) -> list[str]:
        return [key for kind, key in self.emails if kind == event]

    async def _step(self, name: str, order_id: str) -> None:
        self.steps[order_id].append(name)
        if name == self.hold:
            self.entered.set()
            await self.go.wait()

    def activities(self) -> list[Callable[..., Any]]:
        shop = self

        @activity.defn(name="reserve_inventory")
        async def reserve(request: ReserveInput) -> ReserveResult:
            await shop._step("reserve_inventory", request.order_id)
            shop.reserved[request.order_id] = {li.sku: li.quantity for li in request.lines}
            return ReserveResult()

        @activity.defn(name="authorize_payment")
        async def authorize(request: AuthorizeInput) -> AuthorizeResult:
            await shop._step("authorize_payment", request.order_id)
            if request.token == "tok_declined":
                raise ApplicationError(
                    "card declined", type=ErrorType.PAYMENT_DECLINED, non_retryable=True
                )
            return AuthorizeResult(authorization_id=f"auth-{request.order_id}")

        @activity.defn(name="prepare_shipment")
        async def prepare(request: PrepareInput) -> PrepareResult:
            await shop._step("prepare_shipment", request.order_id)
            return PrepareResult(package_id=f"PKG-{request.order_id}")

        @activity.defn(name="capture_payment")
        async def capture(request: CaptureInput) -> CaptureResult:
            await shop._step("capture_payment", request.order_id)
            return CaptureResult(amount=Decimal("45.00"))

        @activity.defn(name="ship")
        async def ship(request: ShipInput) -> ShipResult:
            await shop._step("ship", request.order_id)
            return ShipResult(tracking_number=f"TRK-{request.order_id}")

        def compensation(name: str) -> Callable[..., Any]:
            @activity.defn(name=name)
            async def undo(request: OrderRef) -> CompensationResult:
                await shop._step(name, request.order_id)
                return CompensationResult(undone=True, detail=name)

            return undo

        @activity.defn(name="notify_customer")
        async def notify(request: NotifyInput) -> NotifyResult:
            shop.order_emails.append(f"{request.order_id} {request.outcome.value}")
            return NotifyResult(message_id=f"m-{len(shop.order_emails)}")

        @activity.defn(name="notify_subscription")
        async def notify_subscription(request: SubscriptionNotifyInput) -> NotifyResult:
            shop.emails.append((request.event, request.key))
            return NotifyResult(message_id=f"s-{len(shop.emails)}")

        return [
            reserve,
            authorize,
            prepare,
            capture,
            ship,
            notify,
            notify_subscription,
            *(compensation(name) for name in COMPENSATIONS),
        ]
