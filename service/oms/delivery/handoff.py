"""The carrier's hand-off: a shipped parcel's tracking number is registered and its delivery
workflow started (`delivery-<orderId>-<n>`), from inside the order's ship activity.

Started by the ship activity rather than by the order workflow (a child workflow), so the order's
own history stays at its 8 billable actions and the order stays short and pinned while the
delivery, a new workflow, runs on the current build and auto-upgrades. Idempotent: a retried ship
finds the tracking registered and the delivery started (running or closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from oms.config import Settings
from oms.delivery.contract import delivery_id
from oms.delivery.payloads import DeliveryInput, ParcelLine
from oms.delivery.tracking import TrackingBook
from oms.delivery.workflow import DeliveryWorkflow
from oms.orders.payloads import ParcelHandoff

log = logging.getLogger("oms.delivery")
START_TIMEOUT: Final = 20.0  # seconds; below the ship activity's 30 s attempt timeout


def delivery_input(
    settings: Settings, order_id: str, tracking_number: str, parcel: ParcelHandoff
) -> DeliveryInput:
    return DeliveryInput(
        order_id=order_id,
        number=parcel.number,
        warehouse=parcel.warehouse,
        tracking_number=tracking_number,
        lines=[
            ParcelLine(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
            for line in parcel.lines
        ],
        currency=parcel.currency,
        captured=parcel.captured,
        customer_name=parcel.customer_name,
        email=parcel.email,
        review_days=settings.review_request_days,
        silence_days=settings.delivery_silence_days,
        attention_after_seconds=settings.attention_after_seconds,
    )


async def start_delivery(client: Client, task_queue: str, request: DeliveryInput) -> None:
    workflow_id = delivery_id(request.order_id, request.number)
    # Started before and already finished: nothing to do.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            DeliveryWorkflow.run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


class DeliveryHandoff:
    """The ship activity's hand-off (`oms.orders.activities.shipping.Handoff`). Runs on an
    activity thread; the Temporal client lives on the worker's event loop."""

    def __init__(
        self,
        *,
        client: Client,
        loop: asyncio.AbstractEventLoop,
        tracking: TrackingBook,
        settings: Settings,
    ) -> None:
        self._client = client
        self._loop = loop
        self._tracking = tracking
        self._settings = settings

    def __call__(self, order_id: str, tracking_number: str, parcel: ParcelHandoff) -> None:
        request = delivery_input(self._settings, order_id, tracking_number, parcel)
        self._tracking.register(tracking_number, delivery_id(order_id, parcel.number))
        start = start_delivery(self._client, self._settings.task_queue, request)
        asyncio.run_coroutine_threadsafe(start, self._loop).result(START_TIMEOUT)
        log.info("delivery of order %s parcel %s followed", order_id, parcel.number)
