"""Returns of a split order (§6d), on the time-skipping server with the real return activities
against moto: units come from delivered parcels only; the refund is one per parcel from that
parcel's capture (its own key, never more than it captured); the accepted units go back to each
parcel's warehouse. Histories are replayed (and recorded with OMS_RECORD_HISTORIES=1)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from oms.aws import AwsClients
from oms.config import Settings
from oms.mail.mailer import Mailer
from oms.orders.gateway import SimulatedGateway
from oms.orders.ledger import Ledger
from oms.orders.records import ParcelCapture, ParcelLines, Payment, RecordState, Refund
from oms.returns.activities import ReturnActivities
from oms.returns.book import ReturnBookRepository
from oms.returns.contract import RejectReason, ReturnState, return_id
from oms.returns.payloads import ReceiveRequest, ReturnInput, ReturnLine, ReturnStatus
from oms.returns.workflow import ReturnWorkflow

from .test_workflow import awaiting_parcel

HISTORIES = Path(__file__).parent / "histories"
MUG, TEE = Decimal("12.50"), Decimal("20.00")
Handle = WorkflowHandle[ReturnWorkflow, ReturnStatus]
Run = Callable[..., Awaitable[ReturnStatus]]


class SplitOrder:
    """Parcel 1 from main (2 mugs, 25.00 captured), parcel 2 from north (1 tee, 20.00)."""

    def __init__(self, ledger: Ledger) -> None:
        tag = uuid.uuid4().hex[:8].upper()
        self.order_id = f"RP-{tag}"
        self.mug, self.tee = f"MUG-{tag}", f"TEE-{tag}"
        ledger.set_stock(self.mug, 3)
        ledger.set_stock(self.tee, 0)
        ledger.set_stock(self.tee, 2, "north")
        ledger.put_new(
            Payment(
                order_id=self.order_id,
                status=RecordState.CAPTURED,
                amount=Decimal("45.00"),
                captured=Decimal("45.00"),
                currency="EUR",
            )
        )
        for number, amount in ((1, "25.00"), (2, "20.00")):
            ledger.put_new(
                ParcelCapture(
                    order_id=self.order_id,
                    record=f"CAPTURE#{number}",
                    status=RecordState.CAPTURED,
                    amount=Decimal(amount),
                )
            )
        self.parcels = [
            ParcelLines(number=1, warehouse="main", lines={self.mug: 2}),
            ParcelLines(number=2, warehouse="north", lines={self.tee: 1}),
        ]

    def request(self, number: int, lines: dict[str, int], delivered: list[int]) -> ReturnInput:
        prices = {self.mug: MUG, self.tee: TEE}
        return ReturnInput(
            return_id=return_id(self.order_id, number),
            order_id=self.order_id,
            number=number,
            lines=[ReturnLine(sku=s, quantity=q, unit_price=prices[s]) for s, q in lines.items()],
            currency="EUR",
            reason="does not fit",
            customer_name="Ada Lovelace",
            email="ada@example.com",
            request_id=f"rq-{number}",
            shipped={self.mug: 2, self.tee: 1},
            shipped_at=datetime.now(UTC),
            delivered=[p for p in self.parcels if p.number in delivered],
        )


@pytest.fixture
async def run(
    time_env: WorkflowEnvironment, ledger: Ledger, clients: AwsClients, settings: Settings
) -> AsyncIterator[Run]:
    mailer = Mailer(
        sesv2=clients.sesv2, ledger=ledger, sender=settings.sender_email, configuration_set=None
    )
    returns = ReturnActivities(ledger=ledger, gateway=SimulatedGateway(ledger), mailer=mailer)
    activities = [
        returns.hold_return,
        returns.refund_return,
        returns.restock_return,
        returns.release_return,
        returns.notify_return,
    ]
    recorded: list[tuple[str, Handle]] = []

    async def start(
        request: ReturnInput, scenario: str | None, accepted: dict[str, int] | None = None
    ) -> ReturnStatus:
        """Run the return to its end; with `accepted`, the parcel arrives (`{}`: all of it)."""
        queue = f"tq-{uuid.uuid4().hex[:8]}"
        with ThreadPoolExecutor(4) as executor:
            async with Worker(
                time_env.client,
                task_queue=queue,
                workflows=[ReturnWorkflow],
                activities=activities,
                activity_executor=executor,
            ):
                handle = await time_env.client.start_workflow(
                    ReturnWorkflow.run, request, id=request.return_id, task_queue=queue
                )
                if accepted is not None:
                    await awaiting_parcel(handle)
                    await handle.execute_update(
                        ReturnWorkflow.receive, ReceiveRequest(accepted=accepted or None)
                    )
                result = await handle.result()
        if scenario is not None:
            recorded.append((scenario, handle))
        return result

    yield start

    for scenario, handle in recorded:
        history = await handle.fetch_history()
        await Replayer(
            workflows=[ReturnWorkflow], data_converter=pydantic_data_converter
        ).replay_workflow(history)
        if os.environ.get("OMS_RECORD_HISTORIES"):
            (HISTORIES / f"{scenario}.json").write_text(history.to_json())


def refunded(ledger: Ledger, order: SplitOrder, key: str) -> Refund | None:
    return ledger.get(Refund, order.order_id, f"REFUND#refund-{key}")


def available(ledger: Ledger, sku: str, warehouse: str = "main") -> int:
    level = ledger.get_stock(sku, warehouse)
    return level.available if level else 0


async def test_a_return_of_both_parcels_refunds_and_restocks_each_parcel(
    run: Run, ledger: Ledger
) -> None:
    order = SplitOrder(ledger)
    request = order.request(1, {order.mug: 2, order.tee: 1}, delivered=[1, 2])

    result = await run(request, "received-parcels", accepted={order.mug: 1, order.tee: 1})

    assert result.state == ReturnState.COMPLETED
    assert result.refund_amount == MUG + TEE
    rid = request.return_id
    first, second = refunded(ledger, order, f"{rid}-1"), refunded(ledger, order, f"{rid}-2")
    assert first is not None
    assert second is not None
    assert (first.parcel, first.amount, second.parcel, second.amount) == (1, MUG, 2, TEE)
    captures = [ledger.get(ParcelCapture, order.order_id, f"CAPTURE#{n}") for n in (1, 2)]
    assert [c.refunded for c in captures if c] == [MUG, TEE]
    # The mug goes back to main, the tee to north (where it came from), not to main.
    assert available(ledger, order.mug) == 3 + 1
    assert (available(ledger, order.tee, "north"), available(ledger, order.tee)) == (3, 0)
    book = ReturnBookRepository(ledger).book(order.order_id)
    assert book is not None
    assert book.by_parcel == {"1": {order.mug: 1}, "2": {order.tee: 1}}  # 1 mug returnable


async def test_units_of_a_parcel_not_delivered_yet_are_refused_with_the_reason(
    run: Run, ledger: Ledger
) -> None:
    order = SplitOrder(ledger)

    result = await run(order.request(1, {order.tee: 1}, delivered=[1]), "rejected-undelivered")

    assert result.state == ReturnState.REJECTED
    assert result.reason == RejectReason.NOT_RETURNABLE
    hold = next(s for s in result.steps if s.step == "hold_return")
    assert hold.detail is not None
    assert "only 0 of" in hold.detail
    assert "not delivered yet" in hold.detail
    assert refunded(ledger, order, f"{return_id(order.order_id, 1)}-2") is None


async def test_a_parcel_returned_in_full_takes_no_second_return(run: Run, ledger: Ledger) -> None:
    order = SplitOrder(ledger)
    first = await run(order.request(1, {order.tee: 1}, delivered=[1, 2]), None, accepted={})

    second = await run(order.request(2, {order.tee: 1}, delivered=[1, 2]), None)

    assert first.state == ReturnState.COMPLETED
    assert first.refund_amount == TEE
    assert second.state == ReturnState.REJECTED
    captures = ledger.get(ParcelCapture, order.order_id, "CAPTURE#2")
    assert captures is not None
    assert captures.refunded == TEE  # never more than parcel 2 captured
