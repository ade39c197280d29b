"""The emulated supplier (oms.local.supplier): what it answers and when, without a stack; then
one order placed with it (a SUPPLIER_ORDER record in the moto ledger) answered through a real
moto SQS queue, settled once, and not answered again after a restart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from oms.aws import AwsClients
from oms.config import Settings
from oms.events.messages import SupplierEventMessage, parse_event
from oms.local.supplier import (
    ETA_DAYS,
    MAX_EVENT_ID,
    EmulatedSupplier,
    LedgerInbox,
    SupplierMode,
    due,
    event_id_of,
)
from oms.purchasing.contract import SupplierStatus
from oms.purchasing.supplier import RecordedSupplier, SupplierOrder
from oms.records import RecordState
from oms.resources import QueueUrls

PLACED = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
STEP = timedelta(seconds=5)
CONFIRMED, REJECTED, DELIVERED = (
    SupplierStatus.CONFIRMED,
    SupplierStatus.REJECTED,
    SupplierStatus.DELIVERED,
)


def order(supplier: str = "ACME") -> SupplierOrder:
    return SupplierOrder(
        order_id=f"po-{supplier}-MUG-RED-1", status=RecordState.ACTIVE, supplier=supplier,
        sku="MUG-RED", quantity=4, at="2026-05-01T10:00:00Z",
    )  # fmt: skip


def answers(mode: SupplierMode, after: timedelta, **kw: Any) -> list[SupplierStatus]:
    return due(order(**kw), mode=mode, now=PLACED + after, step=STEP)


def test_auto_confirms_one_step_after_the_order_and_delivers_one_step_later() -> None:
    assert answers(SupplierMode.AUTO, STEP - timedelta(seconds=1)) == []
    assert answers(SupplierMode.AUTO, STEP) == [CONFIRMED]
    assert answers(SupplierMode.AUTO, 2 * STEP) == [CONFIRMED, DELIVERED]
    assert answers(SupplierMode.AUTO, timedelta(days=1)) == [CONFIRMED, DELIVERED]


def test_reject_rejects_and_manual_says_nothing() -> None:
    assert answers(SupplierMode.REJECT, STEP) == [REJECTED]
    assert answers(SupplierMode.MANUAL, timedelta(days=1)) == []


def test_a_rejecting_supplier_rejects_whatever_the_mode() -> None:
    nope = order("NOPE")
    now = PLACED + 2 * STEP
    rejecting = frozenset({"NOPE"})

    assert due(nope, mode=SupplierMode.AUTO, now=now, step=STEP, rejecting=rejecting) == [REJECTED]
    assert due(order(), mode=SupplierMode.AUTO, now=now, step=STEP, rejecting=rejecting) == [
        CONFIRMED,
        DELIVERED,
    ]


def test_event_ids_are_stable_and_fit_the_events_queue() -> None:
    long_id = "po-" + "S" * 64 + "-" + "K" * 64 + "-12"

    assert event_id_of("po-ACME-MUG-RED-1", CONFIRMED) == "emu-po-ACME-MUG-RED-1-CONFIRMED"
    assert event_id_of(long_id, DELIVERED) == event_id_of(long_id, DELIVERED)
    assert len(event_id_of(long_id, DELIVERED)) <= MAX_EVENT_ID
    assert event_id_of(long_id, DELIVERED) != event_id_of(long_id, CONFIRMED)


class OnlyThese:
    """The real inbox, narrowed to this test's purchase orders (the table is shared)."""

    def __init__(self, inner: LedgerInbox, ids: set[str]) -> None:
        self._inner, self._ids = inner, ids

    def open_orders(self) -> list[SupplierOrder]:
        return [o for o in self._inner.open_orders() if o.order_id in self._ids]

    def settle(self, order: SupplierOrder, status: RecordState) -> None:
        self._inner.settle(order, status)


@pytest.fixture
def events_url(clients: AwsClients) -> str:
    name = f"supplier-events-{uuid.uuid4().hex[:8]}"
    return clients.sqs.create_queue(QueueName=name)["QueueUrl"]


def received(clients: AwsClients, url: str) -> list[SupplierEventMessage]:
    found: list[SupplierEventMessage] = []
    while batch := clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in batch:
            clients.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            event = parse_event(message["Body"])  # what the events intake will accept
            assert isinstance(event, SupplierEventMessage)
            found.append(event)
    return found


def test_an_order_placed_with_the_supplier_is_answered_through_the_events_queue_once(
    clients: AwsClients, settings: Settings, queues: QueueUrls, events_url: str
) -> None:
    ledger = clients.ledger(settings)
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    filled, rejected = f"po-ACME-{sku}-1", f"po-NOPE-{sku}-1"
    RecordedSupplier(ledger).place(filled, "ACME", sku, 4)
    RecordedSupplier(ledger).place(rejected, "NOPE", sku, 2)
    placed = datetime.fromisoformat(ledger.get(SupplierOrder, filled).at)  # type: ignore[union-attr]
    inbox = OnlyThese(LedgerInbox(ledger), {filled, rejected})
    clock = {"now": placed + STEP - timedelta(seconds=1)}

    def emulator() -> EmulatedSupplier:
        return EmulatedSupplier(
            inbox=inbox, sqs=clients.sqs, events_url=events_url, step=STEP,
            mode=SupplierMode.AUTO, rejecting=frozenset({"NOPE"}), clock=lambda: clock["now"],
        )  # fmt: skip

    supplier = emulator()
    assert supplier.round() == 0
    clock["now"] = placed + STEP + timedelta(seconds=2)  # NOPE was placed up to 1 s later
    assert supplier.round() == 2
    assert supplier.round() == 0  # posted already
    restarted = emulator()
    assert restarted.round() == 1  # the CONFIRMED again, same event id: the PO counts it once
    clock["now"] = placed + 2 * STEP + timedelta(seconds=2)
    assert supplier.round() == 1  # DELIVERED
    assert supplier.round() == 0
    assert emulator().round() == 0  # settled: a restart does not answer again

    events = received(clients, events_url)
    by_status = {(e.purchase_order_id, e.status): e for e in events}
    assert sorted(by_status) == sorted(
        [(filled, CONFIRMED), (filled, DELIVERED), (rejected, REJECTED)]
    )
    assert [e.event_id for e in events].count(event_id_of(filled, CONFIRMED)) == 2
    confirmed = by_status[(filled, CONFIRMED)]
    assert confirmed.eta == (placed + STEP).date() + timedelta(days=ETA_DAYS)
    assert by_status[(filled, DELIVERED)].quantity == 4
    assert ledger.get(SupplierOrder, filled).status == RecordState.SHIPPED  # type: ignore[union-attr]
    assert ledger.get(SupplierOrder, rejected).status == RecordState.REJECTED  # type: ignore[union-attr]
