"""The client half of purchase orders: join (race-free), withdraw, status, list. The order's
backorder activities, the CLI and the tests use it; nothing else holds a purchase order handle.

Joining: the SKU's stock item names the purchase order collecting demand now (`n`); the demand is
sent with update-with-start to `po-<supplier>-<sku>-<n>`, which either starts it, joins it, or
answers that it was placed already (or has ended): then `n` is advanced once (conditionally, so
concurrent callers agree) and the demand goes to the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Final, Protocol

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from oms.config import Settings
from oms.purchasing.contract import (
    PURCHASE_ORDER_PREFIX,
    PURCHASE_ORDER_WORKFLOW_TYPE,
    WITHDRAW_SIGNAL,
    purchase_order_id,
)
from oms.purchasing.payloads import (
    Demand,
    DemandAnswer,
    PurchaseOrderInput,
    PurchaseOrderStatus,
    Withdrawal,
)
from oms.purchasing.workflow import PurchaseOrderWorkflow

JOIN_PASSES: Final = 5  # each pass joins, or finds a purchase order that was just placed


class PurchaseOrderNumbers(Protocol):
    """Where the number of each SKU's collecting purchase order is kept (`Ledger`)."""

    def purchase_order_number(self, sku: str) -> int: ...

    def advance_purchase_order(self, sku: str, seen: int) -> None: ...


class PurchaseOrderTimings:
    """What every purchase order is started with (from the settings, at the composition root:
    `of`)."""

    def __init__(
        self,
        *,
        collect_seconds: float,
        confirm_seconds: float,
        grace_seconds: float,
        attention_after_seconds: int,
    ) -> None:
        self.collect_seconds = collect_seconds
        self.confirm_seconds = confirm_seconds
        self.grace_seconds = grace_seconds
        self.attention_after_seconds = attention_after_seconds

    @classmethod
    def of(cls, settings: Settings) -> PurchaseOrderTimings:
        return cls(
            collect_seconds=settings.purchase_collect.total_seconds(),
            confirm_seconds=settings.supplier_confirm.total_seconds(),
            grace_seconds=settings.backorder_grace.total_seconds(),
            attention_after_seconds=settings.attention_after_seconds,
        )


class PurchaseOrderClient:
    def __init__(
        self,
        client: Client,
        numbers: PurchaseOrderNumbers,
        *,
        task_queue: str,
        timings: PurchaseOrderTimings,
    ) -> None:
        self._client = client
        self._ledger = numbers
        self._task_queue = task_queue
        self._timings = timings

    async def join(
        self, *, supplier: str, sku: str, order_id: str, quantity: int, since: datetime
    ) -> str:
        """The id of the purchase order that took this order's shortfall."""
        demand = Demand(order_id=order_id, quantity=quantity, since=since)
        for _ in range(JOIN_PASSES):
            number = await asyncio.to_thread(self._ledger.purchase_order_number, sku)
            pid = purchase_order_id(supplier, sku, number)
            answer = await self._offer(pid, supplier, sku, demand)
            if answer is not None and answer.accepted:
                return pid
            await asyncio.to_thread(self._ledger.advance_purchase_order, sku, number)
        raise RuntimeError(f"no purchase order of {sku} took the demand; retrying")

    async def _offer(
        self, pid: str, supplier: str, sku: str, demand: Demand
    ) -> DemandAnswer | None:
        timings = self._timings
        start = WithStartWorkflowOperation(
            PurchaseOrderWorkflow.run,
            PurchaseOrderInput(
                purchase_order_id=pid,
                supplier=supplier,
                sku=sku,
                collect_seconds=timings.collect_seconds,
                confirm_seconds=timings.confirm_seconds,
                grace_seconds=timings.grace_seconds,
                attention_after_seconds=timings.attention_after_seconds,
            ),
            id=pid,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        try:
            return await self._client.execute_update_with_start_workflow(
                PurchaseOrderWorkflow.add_demand, demand, start_workflow_operation=start
            )
        except WorkflowAlreadyStartedError:
            return None  # it has ended: the next one

    async def candidates(self, supplier: str, sku: str) -> list[str]:
        """The purchase orders a join of `sku` may have reached: the one collecting now and the
        one before (a join that found it placed moved on). A purchase order ignores the
        withdrawal of an order it does not know."""
        number = await asyncio.to_thread(self._ledger.purchase_order_number, sku)
        return [purchase_order_id(supplier, sku, n) for n in range(max(number - 1, 1), number + 1)]

    async def withdraw(self, order_id: str, purchase_orders: list[str]) -> int:
        """Tell each purchase order the order no longer waits; how many were still open."""
        told = 0
        for pid in purchase_orders:
            try:
                await self._client.get_workflow_handle(pid).signal(
                    WITHDRAW_SIGNAL, Withdrawal(order_id=order_id)
                )
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                continue  # it has ended: nothing to reduce
            told += 1
        return told

    async def status(self, pid: str) -> PurchaseOrderStatus:
        handle = self._client.get_workflow_handle_for(PurchaseOrderWorkflow.run, pid)
        return await handle.query(PurchaseOrderWorkflow.status)

    async def running(self, pid: str) -> bool | None:
        """Whether the purchase order still runs (takes supplier events); None: no such one."""
        try:
            description = await self._client.get_workflow_handle(pid).describe()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return None
        return description.status == WorkflowExecutionStatus.RUNNING

    async def list(self, *, running_only: bool = False) -> list[PurchaseOrderStatus]:
        """Every purchase order the server still knows (or only the running ones), newest
        first."""
        found: list[PurchaseOrderStatus] = []
        query = f'WorkflowType = "{PURCHASE_ORDER_WORKFLOW_TYPE}"'
        if running_only:
            query += ' AND ExecutionStatus = "Running"'
        async for execution in self._client.list_workflows(query):
            if not execution.id.startswith(PURCHASE_ORDER_PREFIX):
                continue
            with contextlib.suppress(RPCError):
                found.append(await self.status(execution.id))
        return found
