"""Activities mocked by name for workflow tests: they record calls and can be told to block,
fail or decline, so every scenario of the workflow can be driven deterministically."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.orders.contract import ErrorType
from oms.orders.payloads import (
    ChargeInput,
    ChargeResult,
    CompensationResult,
    NotifyInput,
    NotifyResult,
    OrderRef,
    PrepareInput,
    PrepareResult,
    ReserveInput,
    ReserveResult,
    ShipInput,
    ShipResult,
)


@dataclass
class FakeSystems:
    out_of_stock: bool = False
    flaky_charges: int = 0  # transient failures before the charge succeeds
    failing_emails: int = 0  # transient SES failures before the email goes out
    broken: set[str] = field(default_factory=set)  # activities that always fail transiently
    calls: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)  # successful calls, in order
    emails: list[NotifyInput] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    entered: dict[str, asyncio.Event] = field(default_factory=dict)

    def block(self, name: str) -> None:
        """Make `name` wait inside the activity until `release(name)`."""
        self.gates[name] = asyncio.Event()
        self.entered[name] = asyncio.Event()

    def release(self, name: str) -> None:
        self.gates[name].set()

    async def _enter(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.broken:
            raise RuntimeError(f"{name}: service unavailable")
        if name in self.gates:
            self.entered[name].set()
            await self.gates[name].wait()

    def activities(self) -> list[Callable[..., Any]]:
        systems = self

        @activity.defn(name="reserve_inventory")
        async def reserve(request: ReserveInput) -> ReserveResult:
            await systems._enter("reserve_inventory")
            if systems.out_of_stock:
                raise ApplicationError(
                    "not enough stock", type=ErrorType.OUT_OF_STOCK, non_retryable=True
                )
            systems.log.append("reserve_inventory")
            return ReserveResult(order_id=request.order_id)

        @activity.defn(name="charge_payment")
        async def charge(request: ChargeInput) -> ChargeResult:
            await systems._enter("charge_payment")
            if request.token == "tok_declined":
                raise ApplicationError(
                    "card declined", type=ErrorType.PAYMENT_DECLINED, non_retryable=True
                )
            if systems.calls["charge_payment"] <= systems.flaky_charges:
                raise RuntimeError("payment gateway timed out")
            systems.log.append("charge_payment")
            return ChargeResult(charge_id="ch_1", amount=request.amount, currency=request.currency)

        @activity.defn(name="prepare_shipment")
        async def prepare(request: PrepareInput) -> PrepareResult:
            await systems._enter("prepare_shipment")
            systems.log.append("prepare_shipment")
            return PrepareResult(package_id="PKG-1")

        @activity.defn(name="ship")
        async def ship(request: ShipInput) -> ShipResult:
            await systems._enter("ship")
            systems.log.append("ship")
            return ShipResult(tracking_number="TRK-1")

        def compensation(name: str) -> Callable[..., Any]:
            @activity.defn(name=name)
            async def undo(request: OrderRef) -> CompensationResult:
                await systems._enter(name)
                systems.log.append(name)
                return CompensationResult(undone=True, detail=name)

            return undo

        @activity.defn(name="notify_customer")
        async def notify(request: NotifyInput) -> NotifyResult:
            await systems._enter("notify_customer")
            if systems.calls["notify_customer"] <= systems.failing_emails:
                raise RuntimeError("SES throttled")
            systems.log.append("notify_customer")
            systems.emails.append(request)
            return NotifyResult(message_id=f"m-{len(systems.emails)}")

        return [
            reserve,
            charge,
            prepare,
            ship,
            notify,
            compensation("release_inventory"),
            compensation("refund_payment"),
            compensation("cancel_shipment"),
        ]
