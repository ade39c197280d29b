"""Test-only workflow variants: deliberately incompatible changes a deploy must survive.

Workflow code only (the sandbox imports this module), shared by the replay tests, the replay
gate's tests and the Worker Versioning end-to-end test's build B.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior

from oms.orders.workflow import OrderWorkflow

with workflow.unsafe.imports_passed_through():
    from oms.orders import saga
    from oms.orders.payloads import OrderInput, OrderStatus


@workflow.defn(name="OrderWorkflow")
class ReorderedOrderWorkflow(OrderWorkflow):
    """A careless change: authorize before reserving. Running orders would break on it."""

    STEPS = (saga.AUTHORIZE, saga.RESERVE, saga.PREPARE, saga.CAPTURE, saga.SHIP)

    @workflow.run
    async def run(self, request: OrderInput) -> OrderStatus:
        return await super().run(request)


@workflow.defn(name="Parcel")
class ParcelWorkflow:
    """A long-lived workflow like a return: waits for a scan, then for another."""

    def __init__(self) -> None:
        self.scans = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.scans >= 2)
        return self.scans

    @workflow.signal
    def scan(self) -> None:
        self.scans += 1


@workflow.defn(name="Parcel", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class AutoUpgradingParcelWorkflow(ParcelWorkflow):
    """The same workflow type as a versioned worker registers it (the pattern of
    `oms.worker.AUTO_UPGRADE`)."""

    @workflow.run
    async def run(self) -> int:
        return await super().run()
