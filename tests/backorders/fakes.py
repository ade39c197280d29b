"""An in-memory shop for backorder tests: the order's and the purchase order's activities mocked
by name over one set of stock, reservations, payments and emails, so a test can check that stock
and money end where they should. The backorder activities themselves are the product's
(`BackorderActivities` over `PurchaseOrderJoin` and the real `PurchaseOrderClient`)."""

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
from oms.orders.backorder_wire import BackorderLine
from oms.orders.contract import ErrorType
from oms.orders.gateway import SimulatedGateway
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
from oms.purchasing.payloads import (
    FillInput,
    FillResult,
    LeftoverInput,
    LeftoverResult,
    PlaceInput,
    PlaceResult,
)


@dataclass
class Reservation:
    lines: dict[str, int]
    owed: dict[str, int]
    state: str = "ACTIVE"  # RELEASED, SHIPPED


@dataclass
class FakeShop:
    available: dict[str, int] = field(default_factory=dict)
    suppliers: dict[str, str] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    payments: dict[str, str] = field(default_factory=dict)  # AUTHORIZED, VOIDED, CAPTURED
    shipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    emails: dict[str, list[NotifyInput]] = field(default_factory=lambda: defaultdict(list))
    log: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    placed: list[PlaceInput] = field(default_factory=list)
    fills: list[FillInput] = field(default_factory=list)
    leftovers: list[LeftoverInput] = field(default_factory=list)
    # The simulated payment provider (moto ledger, the Temporal server's clock) instead of the
    # in-memory payments, for holds that lapse while an order waits.
    gateway: SimulatedGateway | None = None
    captured: list[CaptureResult] = field(default_factory=list)

    def reserved(self, sku: str) -> int:
        return sum(r.lines.get(sku, 0) for r in self.reservations.values() if r.state == "ACTIVE")

    def activities(self) -> list[Callable[..., Any]]:
        shop = self

        @activity.defn(name="reserve_inventory")
        async def reserve(request: ReserveInput) -> ReserveResult:
            known = shop.reservations.get(request.order_id)
            if known is not None:
                raise AssertionError("reserve_inventory ran twice")
            lines: dict[str, int] = {}
            owed: dict[str, int] = {}
            backorder: list[BackorderLine] = []
            for line in request.lines:
                have = shop.available.get(line.sku, 0)
                if have < line.quantity and line.sku not in shop.suppliers:
                    raise ApplicationError(
                        "not enough stock", type=ErrorType.OUT_OF_STOCK, non_retryable=True
                    )
                lines[line.sku] = min(have, line.quantity)
                if have < line.quantity:
                    owed[line.sku] = line.quantity - have
                    backorder.append(
                        BackorderLine(
                            sku=line.sku, supplier=shop.suppliers[line.sku], quantity=owed[line.sku]
                        )
                    )
            for sku, q in lines.items():
                shop.available[sku] -= q
            shop.reservations[request.order_id] = Reservation(lines=lines, owed=owed)
            shop.log[request.order_id].append("reserve_inventory")
            return ReserveResult(backorder=backorder)

        @activity.defn(name="release_inventory")
        async def release(request: OrderRef) -> CompensationResult:
            shop.log[request.order_id].append("release_inventory")
            record = shop.reservations.get(request.order_id)
            if record is None or record.state != "ACTIVE":
                return CompensationResult(undone=False, detail="nothing to undo")
            record.state = "RELEASED"
            for sku, q in record.lines.items():
                shop.available[sku] += q
            return CompensationResult(undone=True, detail="released")

        @activity.defn(name="authorize_payment")
        async def authorize(request: AuthorizeInput) -> AuthorizeResult:
            shop.log[request.order_id].append("authorize_payment")
            shop.payments[request.order_id] = "AUTHORIZED"
            if shop.gateway is not None:
                return await asyncio.to_thread(shop.gateway.authorize, request, idempotency_key="a")
            return AuthorizeResult(authorization_id=f"auth-{request.order_id}", amount_minor=1)

        @activity.defn(name="void_payment")
        async def void(request: OrderRef) -> CompensationResult:
            shop.log[request.order_id].append("void_payment")
            if shop.payments.get(request.order_id) != "AUTHORIZED":
                return CompensationResult(undone=False, detail="nothing to undo")
            shop.payments[request.order_id] = "VOIDED"
            if shop.gateway is not None:
                return await asyncio.to_thread(
                    shop.gateway.void, request.order_id, idempotency_key="v"
                )
            return CompensationResult(undone=True, detail="voided")

        @activity.defn(name="capture_payment")
        async def capture(request: CaptureInput) -> CaptureResult:
            shop.log[request.order_id].append("capture_payment")
            shop.payments[request.order_id] = "CAPTURED"
            result = CaptureResult(amount=Decimal("1.00"), amount_minor=100)
            if shop.gateway is not None:
                result = await asyncio.to_thread(shop.gateway.capture, request, idempotency_key="c")
            shop.captured.append(result)
            return result

        @activity.defn(name="prepare_shipment")
        async def prepare(request: PrepareInput) -> PrepareResult:
            shop.log[request.order_id].append("prepare_shipment")
            record = shop.reservations[request.order_id]
            wanted = {line.sku: line.quantity for line in request.lines}
            if record.owed or record.lines != wanted:
                raise AssertionError(f"preparing a short order: {record} for {wanted}")
            return PrepareResult(package_id=f"PKG-{request.order_id}")

        @activity.defn(name="ship")
        async def ship(request: ShipInput) -> ShipResult:
            shop.log[request.order_id].append("ship")
            record = shop.reservations[request.order_id]
            record.state = "SHIPPED"
            for sku, q in record.lines.items():
                shop.shipped[sku] += q
            return ShipResult(tracking_number=f"TRK-{request.order_id}")

        def nothing(name: str) -> Callable[..., Any]:
            @activity.defn(name=name)
            async def undo(request: OrderRef) -> CompensationResult:
                shop.log[request.order_id].append(name)
                return CompensationResult(undone=False, detail="nothing to undo")

            return undo

        @activity.defn(name="notify_customer")
        async def notify(request: NotifyInput) -> NotifyResult:
            events = [e.event or e.outcome for e in shop.emails[request.order_id]]
            if (request.event or request.outcome) not in events:  # once per event, as SES's
                shop.emails[request.order_id].append(request)
            return NotifyResult(message_id=f"m-{request.order_id}-{len(events)}")

        # --- the purchase order's -----------------------------------------------------------

        @activity.defn(name="place_purchase_order")
        async def place(request: PlaceInput) -> PlaceResult:
            shop.placed.append(request)
            return PlaceResult(reference=f"ref-{request.purchase_order_id}")

        @activity.defn(name="fill_backorders")
        async def fill(request: FillInput) -> FillResult:
            shop.fills.append(request)
            filled, gone = [], []
            for each in request.fills:
                record = shop.reservations.get(each.order_id)
                if (
                    record is None
                    or record.state != "ACTIVE"
                    or record.owed.get(request.sku) != each.quantity
                ):
                    gone.append(each.order_id)
                    continue
                del record.owed[request.sku]
                record.lines[request.sku] = record.lines.get(request.sku, 0) + each.quantity
                filled.append(each.order_id)
            return FillResult(filled=filled, gone=gone)

        @activity.defn(name="release_leftover")
        async def leftover(request: LeftoverInput) -> LeftoverResult:
            shop.leftovers.append(request)
            shop.available[request.sku] = shop.available.get(request.sku, 0) + request.quantity
            return LeftoverResult(added=request.quantity)

        return [
            reserve,
            release,
            authorize,
            void,
            capture,
            prepare,
            ship,
            nothing("refund_payment"),
            nothing("cancel_shipment"),
            notify,
            place,
            fill,
            leftover,
        ]
