"""The order's backorder activities' `Suppliers` (`oms.orders.activities.backorder`): runs on an
activity thread; the Temporal client lives on the worker's event loop."""

from __future__ import annotations

import asyncio
from typing import Final

from oms.orders.backorder_wire import BackorderPlaced, BackorderRef, BackorderRequest
from oms.purchasing.client import PurchaseOrderClient

CALL_TIMEOUT: Final = 20.0  # seconds; below the activities' 30 s attempt timeout


class PurchaseOrderJoin:
    def __init__(self, *, client: PurchaseOrderClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def join(self, request: BackorderRequest) -> BackorderPlaced:
        async def joined() -> dict[str, str]:
            placed: dict[str, str] = {}
            for line in request.lines:
                placed[line.sku] = await self._client.join(
                    supplier=line.supplier,
                    sku=line.sku,
                    order_id=request.order_id,
                    quantity=line.quantity,
                    since=request.since,
                )
            return placed

        future = asyncio.run_coroutine_threadsafe(joined(), self._loop)
        return BackorderPlaced(purchase_orders=future.result(CALL_TIMEOUT))

    def withdraw(self, request: BackorderRef) -> int:
        async def withdrawn() -> int:
            pids = set(request.purchase_orders.values())
            for line in request.lines:
                if line.sku not in request.purchase_orders:  # the join's answer was not heard
                    pids.update(await self._client.candidates(line.supplier, line.sku))
            return await self._client.withdraw(request.order_id, sorted(pids))

        return asyncio.run_coroutine_threadsafe(withdrawn(), self._loop).result(CALL_TIMEOUT)
