"""The emulated supplier of `oms dev --supplier auto|reject`: it answers every order placed with
it (a `SUPPLIER_ORDER` record, `oms.purchasing.supplier.RecordedSupplier`) through the events
queue, as a real supplier's webhook would.

`python -m oms.local.supplier --mode auto|reject --step-s S [--reject-supplier ID ...]` runs it
as one of the stack's processes (restarted by the supervisor like the others). Each round it
reads its inbox (the open SUPPLIER_ORDER records) and posts what is due by now:

- auto: CONFIRMED with an ETA `step_s` after the order was placed, DELIVERED of the ordered
  quantity `step_s` later (early: the ETA is a few days out, as a supplier would promise);
- reject: REJECTED `step_s` after it was placed;
- a supplier named by `--reject-supplier` rejects whatever the mode (the demo's rejected one).

Once its last answer is out, the record is settled (SHIPPED or REJECTED) and not read again.
Event ids are derived from the purchase order and the status, so a round that posts an answer
twice (a restart between posting and settling) changes nothing: the purchase order counts each
event id once. `oms dev --supplier manual` runs no emulator: `oms supplier event` answers.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Protocol

from oms.aws import aws_clients
from oms.config import load_settings
from oms.logs import configure_logging
from oms.purchasing.contract import SupplierStatus
from oms.purchasing.supplier import SupplierOrder
from oms.purchasing.supplier_events import send_supplier_event, supplier_event_body
from oms.records import RecordState
from oms.resources import queue_url

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

    from oms.orders.ledger import Ledger

log = logging.getLogger("oms.local.supplier")

ETA_DAYS: Final = 3  # what the emulated supplier promises; it then delivers early
MAX_EVENT_ID: Final = 128  # the events queue's limit on an event id


class SupplierMode(StrEnum):
    AUTO = "auto"  # confirms, then delivers what was ordered
    MANUAL = "manual"  # says nothing: `oms supplier event` does
    REJECT = "reject"  # rejects every order


PLANS: Final[dict[SupplierMode, tuple[SupplierStatus, ...]]] = {
    SupplierMode.AUTO: (SupplierStatus.CONFIRMED, SupplierStatus.DELIVERED),
    SupplierMode.REJECT: (SupplierStatus.REJECTED,),
    SupplierMode.MANUAL: (),
}
SETTLED: Final = {
    SupplierStatus.DELIVERED: RecordState.SHIPPED,
    SupplierStatus.REJECTED: RecordState.REJECTED,
}


def plan_for(
    order: SupplierOrder, mode: SupplierMode, rejecting: frozenset[str] = frozenset()
) -> tuple[SupplierStatus, ...]:
    """What the supplier will answer to this order, in order."""
    return PLANS[SupplierMode.REJECT if order.supplier in rejecting else mode]


def due(
    order: SupplierOrder,
    *,
    mode: SupplierMode,
    now: datetime,
    step: timedelta,
    rejecting: frozenset[str] = frozenset(),
) -> list[SupplierStatus]:
    """The answers due by `now`: the n-th one `n * step` after the order was placed."""
    placed = datetime.fromisoformat(order.at)
    plan = plan_for(order, mode, rejecting)
    return [status for n, status in enumerate(plan, 1) if now - placed >= n * step]


def event_id_of(purchase_order_id: str, status: SupplierStatus) -> str:
    """The same answer to the same order always has the same id (readable when it fits)."""
    readable = f"emu-{purchase_order_id}-{status.value}"
    if len(readable) <= MAX_EVENT_ID:
        return readable
    digest = hashlib.sha256(purchase_order_id.encode()).hexdigest()[:24]
    return f"emu-{digest}-{status.value}"


def answer_body(order: SupplierOrder, status: SupplierStatus, *, today: date) -> str:
    return supplier_event_body(
        order.order_id,
        status,
        eta=today + timedelta(days=ETA_DAYS) if status == SupplierStatus.CONFIRMED else None,
        quantity=order.quantity if status == SupplierStatus.DELIVERED else None,
        event_id=event_id_of(order.order_id, status),
    )


class SupplierInbox(Protocol):
    """The orders placed with the supplier that it has not finished answering."""

    def open_orders(self) -> list[SupplierOrder]: ...

    def settle(self, order: SupplierOrder, status: RecordState) -> None: ...


class LedgerInbox:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def open_orders(self) -> list[SupplierOrder]:
        return self._ledger.scan_records(SupplierOrder, RecordState.ACTIVE)

    def settle(self, order: SupplierOrder, status: RecordState) -> None:
        self._ledger.update_fields(
            SupplierOrder,
            order.order_id,
            set_values={"status": status},
            condition="#status = :active",
            condition_values={":active": RecordState.ACTIVE},
        )


@dataclass
class EmulatedSupplier:
    inbox: SupplierInbox
    sqs: SQSClient
    events_url: str
    step: timedelta
    mode: SupplierMode = SupplierMode.AUTO
    rejecting: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    posted: set[str] = field(default_factory=set)  # this process's; a restart posts again

    def round(self) -> int:
        """Post every answer that is due; settle the orders fully answered. How many posted."""
        now = self.clock()
        count = 0
        for order in self.inbox.open_orders():
            statuses = due(order, mode=self.mode, now=now, step=self.step, rejecting=self.rejecting)
            for status in statuses:
                event_id = event_id_of(order.order_id, status)
                if event_id in self.posted:
                    continue
                body = answer_body(order, status, today=now.date())
                send_supplier_event(self.sqs, self.events_url, body)
                self.posted.add(event_id)
                log.info("supplier: %s for %s", status.value, order.order_id)
                count += 1
            plan = plan_for(order, self.mode, self.rejecting)
            if plan and len(statuses) == len(plan):
                self.inbox.settle(order, SETTLED[plan[-1]])
        return count

    def run(self) -> None:
        # A round every fifth of a step (at most 1 s): answers land close to when they are due.
        pause = min(1.0, self.step.total_seconds() / 5)
        while True:
            try:
                self.round()
            except Exception:  # the emulator or the queue restarting: the next round retries
                log.warning("supplier round failed; retrying", exc_info=True)
            time.sleep(pause)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The emulated supplier of the local stack.")
    parser.add_argument(
        "--mode", choices=[SupplierMode.AUTO.value, SupplierMode.REJECT.value], default="auto"
    )
    parser.add_argument("--step-s", type=float, default=5.0)
    parser.add_argument("--reject-supplier", action="append", default=[])
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings, service="oms-supplier")
    clients = aws_clients()
    supplier = EmulatedSupplier(
        inbox=LedgerInbox(clients.ledger(settings)),
        sqs=clients.sqs,
        events_url=queue_url(clients.sqs, settings.events_queue),
        step=timedelta(seconds=args.step_s),
        mode=SupplierMode(args.mode),
        rejecting=frozenset(args.reject_supplier),
    )
    with contextlib.suppress(KeyboardInterrupt):
        supplier.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())  # no Temporal client here: a plain exit is safe (unlike sdk-python#300)
