"""Backorders (§6f), order side: an order whose reservation owes units to suppliers waits
BACKORDERED after authorization (and review) until the purchase orders fill it.

The `backorder` step (`saga.BACKORDER`, compensated by `withdraw_backorder`) joins the purchase
orders; then the order listens for their news (`backorder_news` signal): CONFIRMED with an ETA
(the customer gets one "backordered" email once every short SKU has one), FILLED (the owed units
are in the reservation; once every SKU is filled the saga goes on), FAILED (rejected, never
confirmed, or late past the grace: `StepFailedError(BACKORDER_FAILED)`, so the saga compensates
and sends the one failure email). The deadlines are the purchase order's, not the order's: one
timer per purchase order instead of one per waiting order.

The card hold may lapse while the order waits (`OMS_AUTHORIZATION_VALIDITY`, default P7D, is
shorter than the longest wait: `OMS_SUPPLIER_CONFIRM` + the ETA + `OMS_BACKORDER_GRACE`). The
wait does nothing about it, on purpose (no timer per waiting order): the capture renews a lapsed
hold first (old one voided, same amount held again; a declined renewal fails PAYMENT_DECLINED
with compensation), and a cancel or failure while waiting voids whatever hold there is.

Deterministic workflow code, used by `OrderWorkflow`. An order that owes nothing passes through
without a command, so histories of orders that never backordered replay unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from temporalio import workflow

from oms.orders.backorder_wire import BackorderNews
from oms.orders.contract import FailureReason, Step
from oms.orders.saga import BACKORDER, OrderContext
from oms.process.runtime import CancelledError, Process, StepFailedError
from oms.process.steps import Failure, StepSpec

FINAL = ("FILLED", "FAILED")


class BackorderGate:
    def __init__(self) -> None:
        self.news: dict[str, BackorderNews] = {}  # SKU -> the latest news of its purchase order
        self.waiting = False  # BACKORDERED now
        self.told = False  # the "backordered" email went out (or was decided against)

    def pending(self, context: OrderContext) -> bool:
        """Units are owed and not all of them arrived: the order cannot change its lines."""
        return bool(context.backorder) and not self._filled(context)

    def hear(self, news: BackorderNews, context: OrderContext) -> None:
        """Keep a SKU's latest news; FILLED and FAILED are final (a late CONFIRMED changes
        nothing), and news of a purchase order the order did not join is ignored."""
        joined = context.purchase_orders.get(news.sku)
        if news.sku not in {line.sku for line in context.backorder}:
            return
        if joined is not None and joined != news.purchase_order_id:
            return
        known = self.news.get(news.sku)
        if known is not None and known.status in FINAL:
            return
        self.news[news.sku] = news

    async def hold(
        self,
        process: Process[OrderContext],
        started: list[StepSpec[OrderContext, Any, Any]],
        *,
        waiting: Callable[[bool], None],
        email: Callable[[date], Awaitable[None]],
    ) -> None:
        """Join the purchase orders, then wait for them. Returns once every owed unit is
        reserved; raises `CancelledError` (a cancel while waiting) or `StepFailedError`."""
        context = process.context
        await process.run(BACKORDER, started)
        waiting(True)
        self.waiting = True
        try:
            while True:
                await workflow.wait_condition(
                    lambda: (
                        process.cancelling()
                        or self._failed(context) is not None
                        or self._filled(context)
                        or self._eta_to_tell(context) is not None
                    )
                )
                if process.cancelling():
                    raise CancelledError
                failed = self._failed(context)
                if failed is not None:
                    detail = f"{failed.sku}: {failed.detail or 'the supplier failed'}"
                    process.record(Step.BACKORDER, f"failed: {detail}")
                    raise StepFailedError(
                        Failure(FailureReason.BACKORDER_FAILED, took_effect=True, detail=detail)
                    )
                if self._filled(context):
                    process.record(Step.BACKORDER, "filled: every owed unit is reserved")
                    return
                eta = self._eta_to_tell(context)
                if eta is not None:
                    self.told = True
                    process.record(Step.BACKORDER, f"confirmed: expected by {eta.isoformat()}")
                    await email(eta)
        finally:
            self.waiting = False
            waiting(False)

    # --- what the news says -----------------------------------------------------------------

    def _failed(self, context: OrderContext) -> BackorderNews | None:
        for line in context.backorder:
            news = self.news.get(line.sku)
            if news is not None and news.status == "FAILED":
                return news
        return None

    def _filled(self, context: OrderContext) -> bool:
        return all(
            (news := self.news.get(line.sku)) is not None and news.status == "FILLED"
            for line in context.backorder
        )

    def _eta_to_tell(self, context: OrderContext) -> date | None:
        """The latest ETA, once every SKU still owed has one (one email for the order, with the
        date it can ship); None before that, or once told."""
        if self.told:
            return None
        etas: list[date] = []
        for line in context.backorder:
            news = self.news.get(line.sku)
            if news is None or news.eta is None:
                if news is not None and news.status == "FILLED":
                    continue  # here already: no date to wait for
                return None
            if news.status != "FILLED":
                etas.append(news.eta)
        return max(etas) if etas else None
