"""Activities mocked by name for workflow tests: they record calls and can be told to block,
fail transiently, decline, raise an error type the workflow has never heard of, or answer
"nothing to undo", so every path of the saga can be driven deterministically."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.mail.mailer import NotifyResult
from oms.orders.contract import ErrorType
from oms.orders.payloads import (
    AdjustInput,
    AdjustResult,
    AuthorizeInput,
    AuthorizeResult,
    CaptureInput,
    CaptureResult,
    CompensationResult,
    NotifyInput,
    OrderRef,
    ParcelPlan,
    PrepareInput,
    PrepareResult,
    ReauthorizeInput,
    ReserveInput,
    ReserveResult,
    ShipInput,
    ShipResult,
)

FORWARD = [
    "reserve_inventory",
    "authorize_payment",
    "prepare_shipment",
    "capture_payment",
    "ship",
    "notify_customer",
]
COMPENSATIONS = ["release_inventory", "void_payment", "refund_payment", "cancel_shipment"]


@dataclass
class FakeSystems:
    out_of_stock: bool = False
    declined: bool = False  # authorization declined
    capture_declined: bool = False
    review: bool = False  # the provider's risk check flags the authorization for review
    edit_out_of_stock: bool = False  # an edit's extra units are not there
    edit_declined: bool = False  # the edited total is declined
    adjustments: list[AdjustInput] = field(default_factory=list)
    holds: list[ReauthorizeInput] = field(default_factory=list)
    flaky_authorizations: int = 0  # transient failures before the authorization succeeds
    failing_emails: int = 0  # transient SES failures before the email goes out
    rejected_email: bool = False  # SES refuses the address for good
    broken: set[str] = field(default_factory=set)  # activities that always fail transiently
    unknown_error: set[str] = field(default_factory=set)  # raise a non-retryable unknown type
    nothing_to_undo: bool = False  # compensations answer "nothing to undo"
    parcels: list[ParcelPlan] = field(default_factory=list)  # the reservation's plan (split)
    requests: dict[str, Any] = field(default_factory=dict)  # the last input of each activity
    calls: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)  # successful calls, in order
    emails: list[NotifyInput] = field(default_factory=list)
    # How a blocked activity's first attempt answers once released: "success", "business" (a
    # non-retryable refusal), "retryable" (then the retry succeeds) or "timeout" (never answers).
    late: dict[str, str] = field(default_factory=dict)
    hung: asyncio.Event = field(default_factory=asyncio.Event)
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
        if name in self.unknown_error:
            raise ApplicationError(f"{name}: surprise", type="SomethingNew", non_retryable=True)
        if name in self.gates:
            self.entered[name].set()
            await self.gates[name].wait()
            if self.calls[name] == 1:
                await self._answer_late(name)

    async def _answer_late(self, name: str) -> None:
        mode = self.late.get(name, "success")
        if mode == "business":
            raise ApplicationError(
                f"{name}: refused late", type=ErrorType.ALREADY_COMPENSATED, non_retryable=True
            )
        if mode == "retryable":
            raise RuntimeError(f"{name}: service unavailable")
        if mode == "timeout":
            await self.hung.wait()  # no answer while the order runs (released after it ends)

    def _done(self, name: str) -> None:
        self.log.append(name)

    def activities(self) -> list[Callable[..., Any]]:
        systems = self

        @activity.defn(name="reserve_inventory")
        async def reserve(request: ReserveInput) -> ReserveResult:
            await systems._enter("reserve_inventory")
            if systems.out_of_stock:
                raise ApplicationError(
                    "not enough stock", type=ErrorType.OUT_OF_STOCK, non_retryable=True
                )
            systems._done("reserve_inventory")
            return ReserveResult(parcels=systems.parcels)

        @activity.defn(name="authorize_payment")
        async def authorize(request: AuthorizeInput) -> AuthorizeResult:
            await systems._enter("authorize_payment")
            if systems.declined:
                raise ApplicationError(
                    "card declined", type=ErrorType.PAYMENT_DECLINED, non_retryable=True
                )
            if systems.calls["authorize_payment"] <= systems.flaky_authorizations:
                raise RuntimeError("payment gateway timed out")
            systems._done("authorize_payment")
            return AuthorizeResult(
                authorization_id="auth_1", amount_minor=4500, review=systems.review
            )

        @activity.defn(name="prepare_shipment")
        async def prepare(request: PrepareInput) -> PrepareResult:
            await systems._enter("prepare_shipment")
            systems._done("prepare_shipment")
            systems.requests["prepare_shipment"] = request
            return PrepareResult(package_id="PKG-1")

        @activity.defn(name="capture_payment")
        async def capture(request: CaptureInput) -> CaptureResult:
            await systems._enter("capture_payment")
            if systems.capture_declined:
                raise ApplicationError(
                    "capture declined", type=ErrorType.PAYMENT_DECLINED, non_retryable=True
                )
            systems._done("capture_payment")
            systems.requests["capture_payment"] = request
            return CaptureResult(amount=Decimal("45.00"), amount_minor=4500)

        @activity.defn(name="ship")
        async def ship(request: ShipInput) -> ShipResult:
            await systems._enter("ship")
            systems._done("ship")
            systems.requests["ship"] = request
            return ShipResult(tracking_number="TRK-1")

        def compensation(name: str) -> Callable[..., Any]:
            @activity.defn(name=name)
            async def undo(request: OrderRef) -> CompensationResult:
                await systems._enter(name)
                systems._done(name)
                if systems.nothing_to_undo:
                    return CompensationResult(undone=False, detail="nothing to undo")
                return CompensationResult(undone=True, detail=name)

            return undo

        @activity.defn(name="notify_customer")
        async def notify(request: NotifyInput) -> NotifyResult:
            await systems._enter("notify_customer")
            if systems.calls["notify_customer"] <= systems.failing_emails:
                raise RuntimeError("SES throttled")
            systems._done("notify_customer")
            if systems.rejected_email:
                return NotifyResult(rejected="SES refused the address (MessageRejected)")
            systems.emails.append(request)
            return NotifyResult(message_id=f"m-{len(systems.emails)}")

        @activity.defn(name="adjust_reservation")
        async def adjust(request: AdjustInput) -> AdjustResult:
            await systems._enter("adjust_reservation")
            more = any(request.after.get(s, 0) > q for s, q in request.before.items())
            if systems.edit_out_of_stock and more:
                raise ApplicationError(
                    "not enough stock", type=ErrorType.OUT_OF_STOCK, non_retryable=True
                )
            systems._done("adjust_reservation")
            systems.adjustments.append(request)
            return AdjustResult()

        @activity.defn(name="reauthorize_payment")
        async def reauthorize(request: ReauthorizeInput) -> AuthorizeResult:
            await systems._enter("reauthorize_payment")
            if systems.edit_declined:
                raise ApplicationError(
                    "the new total was declined",
                    type=ErrorType.PAYMENT_DECLINED,
                    non_retryable=True,
                )
            systems._done("reauthorize_payment")
            systems.holds.append(request)
            return AuthorizeResult(authorization_id=f"auth_{len(systems.holds) + 1}")

        return [
            adjust,
            reauthorize,
            reserve,
            authorize,
            prepare,
            capture,
            ship,
            notify,
            *(compensation(name) for name in COMPENSATIONS),
        ]
