"""Test variants of OrderWorkflow (same workflow type, one path broken by a bug), for
tests/workflows/test_injected_bugs.py. A module of its own: the sandbox re-imports it."""

from __future__ import annotations

import dataclasses
from typing import Any, NoReturn

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from oms.orders.payloads import NotifyInput, OrderInput, OrderStatus
    from oms.orders.saga import AUTHORIZE, CAPTURE, PREPARE, RESERVE, SHIP
    from oms.orders.workflow import OrderWorkflow


def _bug(*_args: Any) -> NoReturn:
    raise TypeError("injected bug")


@workflow.defn(name="OrderWorkflow")
class BrokenStep(OrderWorkflow):
    STEPS = (RESERVE, dataclasses.replace(AUTHORIZE, build=_bug), PREPARE, CAPTURE, SHIP)

    @workflow.run
    async def run(self, request: OrderInput) -> OrderStatus:
        return await super().run(request)


_BROKEN_VOID = dataclasses.replace(
    AUTHORIZE,
    compensation=dataclasses.replace(AUTHORIZE.compensation, build=_bug),  # type: ignore[arg-type]
)


@workflow.defn(name="OrderWorkflow")
class BrokenCompensation(OrderWorkflow):
    STEPS = (RESERVE, _BROKEN_VOID, PREPARE, CAPTURE, SHIP)

    @workflow.run
    async def run(self, request: OrderInput) -> OrderStatus:
        return await super().run(request)


@workflow.defn(name="OrderWorkflow")
class BrokenEmail(OrderWorkflow):
    @workflow.run
    async def run(self, request: OrderInput) -> OrderStatus:
        return await super().run(request)

    def _notify_input(self) -> NotifyInput:
        _bug()


@workflow.defn(name="OrderWorkflow")
class BrokenSignal(OrderWorkflow):
    @workflow.run
    async def run(self, request: OrderInput) -> OrderStatus:
        return await super().run(request)

    def _cancel_refusal(self) -> str | None:
        _bug()


@workflow.defn(name="OrderWorkflow")
class BrokenUpsert(OrderWorkflow):
    @workflow.run
    async def run(self, request: OrderInput) -> OrderStatus:
        return await super().run(request)

    async def _close(self) -> OrderStatus:
        await super()._close()
        _bug()
