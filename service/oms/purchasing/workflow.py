"""PurchaseOrderWorkflow: one purchase order to one supplier for one SKU (§6f), on the core.

It collects the shortfalls of backordered orders (the `add_demand` update, sent with
update-with-start so joining is race-free: demand is refused once the order is placed, and the
caller joins the next number), places the order after the collection window, then waits for the
supplier's events (routed from the events queue, each `eventId` once): CONFIRMED gives the ETA
(told to every waiting order), REJECTED fails them, DELIVERED brings units that fill the waiting
orders oldest first. No confirmation within the confirm window, or units still missing at
ETA + grace, fail the orders still waiting. Units no waiting order takes go to stock at the end.

Decisions (who is filled, when it fails) are made here, deterministically; the activities only
carry them out, idempotently.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from oms.orders.backorder_wire import BackorderNews, NewsStatus
    from oms.orders.contract import BACKORDER_SIGNAL, ORDER_STATUS_KEY, order_workflow_id
    from oms.process.runtime import BUGS, Process, signal_guard, update_guard
    from oms.purchasing import policies
    from oms.purchasing.activities import PurchasingActivities
    from oms.purchasing.contract import (
        ADD_DEMAND_UPDATE,
        STATUS_QUERY,
        SUPPLIER_EVENT_SIGNAL,
        WITHDRAW_SIGNAL,
        PurchaseOrderState,
        PurchaseStep,
        SupplierStatus,
    )
    from oms.purchasing.payloads import (
        Demand,
        DemandAnswer,
        Fill,
        FillInput,
        LeftoverInput,
        PlaceInput,
        PurchaseOrderInput,
        PurchaseOrderStatus,
        SupplierEvent,
        WaitingOrder,
        Withdrawal,
    )

WAITING: Final = "WAITING"
FILLED: Final = "FILLED"
WITHDRAWN: Final = "WITHDRAWN"
FAILED: Final = "FAILED"


@workflow.defn(failure_exception_types=BUGS)
class PurchaseOrderWorkflow:
    @workflow.init
    def __init__(self, request: PurchaseOrderInput) -> None:
        self._request = request
        self._state = PurchaseOrderState.COLLECTING
        self._orders: dict[str, WaitingOrder] = {}
        self._ordered = 0
        self._received = 0
        self._allocated = 0
        self._eta: datetime | None = None
        self._deadline: datetime | None = None
        self._rejected: str | None = None
        self._reason: str | None = None
        self._seen: set[str] = set()
        self._told_eta = False  # the waiting orders know the ETA
        self._arrived: list[SupplierEvent] = []  # DELIVERED events not yet handled
        self.process: Process[None] = Process(
            subject=f"purchase order {request.purchase_order_id}",
            context=None,
            attention_after=timedelta(seconds=request.attention_after_seconds),
            resolvable=(),
            search_key=ORDER_STATUS_KEY,
            search_value=None,
            describe=lambda: [self._state.value, self._reason or ""],
        )

    @workflow.run
    async def run(self, request: PurchaseOrderInput) -> PurchaseOrderStatus:
        return await self.process.execute(self._flow, self._recover)

    async def _flow(self) -> PurchaseOrderStatus:
        request = self._request
        await workflow.wait_condition(lambda: bool(self._orders))
        if request.collect_seconds > 0:
            await workflow.sleep(
                timedelta(seconds=request.collect_seconds), summary="collect demand"
            )
        self._ordered = sum(o.quantity for o in self._waiting())
        self._state = PurchaseOrderState.PLACED  # from here demand joins the next one
        if self._ordered == 0:
            return await self._close(PurchaseOrderState.CANCELLED, "every order withdrew")
        placed = await self.process.must_finish(
            PurchaseStep.PLACE,
            PurchasingActivities.place_purchase_order,
            lambda: PlaceInput(
                purchase_order_id=request.purchase_order_id,
                supplier=request.supplier,
                sku=request.sku,
                quantity=self._ordered,
            ),
            policies.MUST_FINISH,
        )
        self.process.record(PurchaseStep.PLACE, placed.reference if placed else None)
        self.process.show()
        confirm = timedelta(seconds=request.confirm_seconds)
        if not await self._wait(
            lambda: self._eta is not None or self._rejected is not None or bool(self._arrived),
            confirm,
        ):
            return await self._fail(f"no confirmation from the supplier within {confirm}")
        if self._rejected is not None and not self._arrived:
            return await self._fail(f"rejected by the supplier: {self._rejected}")
        return await self._receive()

    async def _receive(self) -> PurchaseOrderStatus:
        """Until every ordered unit came in, or the deadline (ETA + grace) passed."""
        grace = timedelta(seconds=self._request.grace_seconds)
        while self._received < self._ordered:
            if self._eta is not None and not self._told_eta:
                self._told_eta = True
                self._state = PurchaseOrderState.CONFIRMED
                self._deadline = self._eta + grace
                self.process.show()
                await self._tell(self._waiting(), "CONFIRMED")
            if self._deadline is None:  # delivered before any confirmation
                self._deadline = workflow.now() + grace
            arrived = self._arrived
            self._arrived = []
            for event in arrived:
                self._received += event.quantity or 0
                self.process.record(SupplierStatus.DELIVERED, f"{event.quantity} units")
            await self._fill()
            if self._received >= self._ordered:
                break
            left = self._deadline - workflow.now()
            if left <= timedelta(0) or not await self._wait(
                lambda: bool(self._arrived) or (self._eta is not None and not self._told_eta), left
            ):
                missing = self._ordered - self._received
                return await self._fail(f"{missing} units not delivered by {self._deadline}")
        return await self._close(PurchaseOrderState.RECEIVED, None)

    async def _fill(self) -> None:
        """Give the units in hand to the waiting orders, oldest first, while they cover the
        next one (a bigger order first in line is not overtaken)."""
        while True:
            free = self._received - self._allocated
            fills: list[Fill] = []
            for order in self._waiting():
                if order.quantity > free:
                    break
                fills.append(Fill(order_id=order.order_id, quantity=order.quantity))
                free -= order.quantity
            if not fills:
                return
            result = await self.process.must_finish(
                PurchaseStep.FILL,
                PurchasingActivities.fill_backorders,
                functools.partial(
                    FillInput,
                    purchase_order_id=self._request.purchase_order_id,
                    sku=self._request.sku,
                    fills=fills,
                ),
                policies.MUST_FINISH,
            )
            if result is None:
                return
            filled = [self._orders[oid] for oid in result.filled]
            for order in filled:
                self._allocated += order.quantity
                self._mark(order, FILLED)
            for oid in result.gone:
                self._mark(self._orders[oid], WITHDRAWN)
            self.process.record(PurchaseStep.FILL, f"filled {len(filled)}, gone {len(result.gone)}")
            await self._tell(filled, "FILLED")
            if not result.gone:
                return

    async def _fail(self, reason: str) -> PurchaseOrderStatus:
        waiting = self._waiting()
        for order in waiting:
            self._mark(order, FAILED)
        await self._tell(waiting, "FAILED", reason)
        return await self._close(PurchaseOrderState.FAILED, reason)

    async def _close(self, state: PurchaseOrderState, reason: str | None) -> PurchaseOrderStatus:
        self._state = state
        self._reason = reason
        self.process.show()
        left = self._received - self._allocated
        if left > 0:
            request = self._request
            await self.process.must_finish(
                PurchaseStep.RELEASE_LEFTOVER,
                PurchasingActivities.release_leftover,
                lambda: LeftoverInput(
                    purchase_order_id=request.purchase_order_id, sku=request.sku, quantity=left
                ),
                policies.MUST_FINISH,
            )
            self._allocated += left
            self.process.record(PurchaseStep.RELEASE_LEFTOVER, f"{left} units to stock")
        if self.process.search_value is not None:  # it needed a person: show how it ended
            self.process.publish_outcome(state.value)
        return self.status()

    async def _recover(self, why: str) -> PurchaseOrderStatus:
        if self._state.terminal:
            return self.status()
        return await self._fail(why)

    async def _wait(self, done: Callable[[], bool], within: timedelta) -> bool:
        try:
            await workflow.wait_condition(done, timeout=within)
        except TimeoutError:
            return False
        return True

    async def _tell(
        self, orders: list[WaitingOrder], status: NewsStatus, detail: str | None = None
    ) -> None:
        """Signal each order (an order that has ended meanwhile changes nothing)."""
        request = self._request
        eta = self._eta.date() if self._eta is not None else None
        for order in orders:
            news = BackorderNews(
                purchase_order_id=request.purchase_order_id,
                sku=request.sku,
                status=status,
                eta=eta,
                detail=detail,
            )
            handle = workflow.get_external_workflow_handle(order_workflow_id(order.order_id))
            try:
                await handle.signal(BACKORDER_SIGNAL, news)
            except Exception as gone:  # the order ended: nothing waits for the news
                workflow.logger.info(
                    "news for order %s not delivered: %s", order.order_id, type(gone).__name__
                )

    def _waiting(self) -> list[WaitingOrder]:
        waiting = [o for o in self._orders.values() if o.state == WAITING]
        return sorted(waiting, key=lambda o: (o.since, o.order_id))

    def _mark(self, order: WaitingOrder, state: str) -> None:
        self._orders[order.order_id] = order.model_copy(update={"state": state})

    # --- handlers ---------------------------------------------------------------------------

    @workflow.update(name=ADD_DEMAND_UPDATE)
    @update_guard
    def add_demand(self, demand: Demand) -> DemandAnswer:
        """Accepted while collecting; refused once placed (the caller joins the next one)."""
        pid = self._request.purchase_order_id
        known = self._orders.get(demand.order_id)
        if known is not None:  # a retried join: answer as before
            return DemandAnswer(accepted=True, purchase_order_id=pid)
        if self._state != PurchaseOrderState.COLLECTING:
            return DemandAnswer(accepted=False, purchase_order_id=pid)
        self._orders[demand.order_id] = WaitingOrder(
            order_id=demand.order_id, quantity=demand.quantity, since=demand.since, state=WAITING
        )
        return DemandAnswer(accepted=True, purchase_order_id=pid)

    @workflow.signal(name=WITHDRAW_SIGNAL)
    @signal_guard
    def withdraw(self, request: Withdrawal) -> None:
        order = self._orders.get(request.order_id)
        if order is not None and order.state == WAITING:
            self._mark(order, WITHDRAWN)

    @workflow.signal(name=SUPPLIER_EVENT_SIGNAL)
    @signal_guard
    def supplier_event(self, event: SupplierEvent) -> None:
        """Each event id once; a late or repeated answer changes nothing."""
        if event.event_id in self._seen or self._state.terminal:
            return
        self._seen.add(event.event_id)
        self.process.record(event.status, event.event_id)
        if event.status == SupplierStatus.CONFIRMED and event.eta is not None:
            if self._eta is None:
                self._eta = datetime.combine(event.eta, time.max, tzinfo=UTC)
        elif event.status == SupplierStatus.REJECTED:
            self._rejected = self._rejected or event.event_id
        elif event.status == SupplierStatus.DELIVERED and (event.quantity or 0) > 0:
            self._arrived.append(event)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> PurchaseOrderStatus:
        request = self._request
        return PurchaseOrderStatus(
            purchase_order_id=request.purchase_order_id,
            supplier=request.supplier,
            sku=request.sku,
            state=self._state,
            ordered=self._ordered,
            received=self._received,
            eta=self._eta.date() if self._eta is not None else None,
            deadline=self._deadline,
            reason=self._reason,
            orders=sorted(self._orders.values(), key=lambda o: (o.since, o.order_id)),
            steps=list(self.process.steps),
            attention=self.process.attention,
        )


@workflow.defn(
    name="PurchaseOrderWorkflow",
    versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    failure_exception_types=BUGS,
)
class AutoUpgradingPurchaseOrderWorkflow(PurchaseOrderWorkflow):
    """What a versioned worker registers (`oms.worker.AUTO_UPGRADE`): a purchase order waits for
    days or weeks, so it moves to new builds (changes guarded by `workflow.patched`)."""

    @workflow.run
    async def run(self, request: PurchaseOrderInput) -> PurchaseOrderStatus:
        return await super().run(request)
