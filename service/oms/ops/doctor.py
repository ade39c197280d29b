"""`oms doctor`: what needs a person, found by reconciling Temporal, the ledger and the queues.

Each check is a function returning findings `{"check", "severity", "subject", "detail"}`:

- `needs-attention`: running orders, returns (any flow on the process core) whose
  `OrderStatus` is NEEDS_ATTENTION (a must-finish step keeps failing, or failed for good and
  waits for `oms resolve`);
- `long-running`: orders still running after `running_longer_than`;
- `left-open`: a reservation, authorization or package still open while its order is closed
  (or its history is gone): stock held or money on hold for nothing;
- `stock`: negative stock, or `reserved` that does not match the open reservations;
- `dead-letters`: messages in the DLQ, also those in flight at another reader;
- `no-poller`: no worker polling the task queue;
- `versions-draining`: worker builds still draining (their pinned orders are open).
- `versions-no-pollers`: a CURRENT, RAMPING or DRAINING build with no worker polling: its
  orders (new ones, or the pinned ones) wait for nobody.

Only this deployment's orders count: the Temporal queries are limited to its task queue
(`OrderClient.task_queue`).
A check that cannot run (an outage) is a finding too, never a crash.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from oms.ops.backlog import sample_queue
from oms.ops.dlq import peek
from oms.ops.versions import list_versions, polling_builds
from oms.orders.client import OrderClient, OrderNotFoundError
from oms.orders.contract import order_id_from_workflow_id
from oms.orders.ledger import Ledger
from oms.orders.records import Record, Reservation
from oms.parcels.stock import stock_key
from oms.process.visibility import attention_query

MAX_PER_CHECK = 100  # findings per check; a larger incident shows its first hundred


class Severity(StrEnum):
    CRITICAL = "critical"  # an order or money is stuck: act now
    WARNING = "warning"  # look today


class Finding(BaseModel):
    check: str
    severity: Severity
    subject: str
    detail: str


class Report(BaseModel):
    findings: list[Finding]


@dataclass
class Doctor:
    orders: OrderClient
    ledger: Ledger
    sqs: Any
    dlq_url: str
    running_longer_than: timedelta = timedelta(hours=1)
    worker_deployment: str = "oms"

    async def examine(self) -> Report:
        checks: list[tuple[str, Callable[[], Awaitable[list[Finding]]]]] = [
            ("needs-attention", self.needs_attention),
            ("long-running", self.long_running),
            ("left-open", self.left_open),
            ("stock", self.stock),
            ("dead-letters", self.dead_letters),
            ("no-poller", self.no_poller),
            ("versions-draining", self.draining_versions),
            ("versions-no-pollers", self.versions_without_pollers),
        ]
        results = await asyncio.gather(*(check() for _, check in checks), return_exceptions=True)
        findings: list[Finding] = []
        for (name, _), result in zip(checks, results, strict=True):
            if isinstance(result, BaseException):
                findings.append(
                    Finding(
                        check=name,
                        severity=Severity.WARNING,
                        subject="doctor",
                        detail=f"the check could not run: {type(result).__name__}: {result}",
                    )
                )
            else:
                findings.extend(result[:MAX_PER_CHECK])
        return Report(findings=findings)

    # --- Temporal -----------------------------------------------------------------------

    async def needs_attention(self) -> list[Finding]:
        """Orders, returns and every other flow on the process core that wait for a person."""
        query = attention_query(self.orders.task_queue)
        findings: list[Finding] = []
        async for execution in self.orders.temporal.list_workflows(query, limit=MAX_PER_CHECK):
            subject = order_id_from_workflow_id(execution.id)
            show = (
                "oms return status" if execution.workflow_type == "ReturnWorkflow" else "oms status"
            )
            findings.append(
                Finding(
                    check="needs-attention",
                    severity=Severity.CRITICAL,
                    subject=subject,
                    detail=f"{execution.workflow_type}: a step that must finish keeps failing: "
                    f"`{show} {subject}` shows which and why; fix the cause, or settle it "
                    f"with `oms resolve {subject} --step ...`",
                )
            )
        return findings

    async def long_running(self) -> list[Finding]:
        now = datetime.now(UTC)
        running = await self.orders.list(
            limit=MAX_PER_CHECK,
            started_before=now - self.running_longer_than,
            this_task_queue=True,
        )
        return [
            Finding(
                check="long-running",
                severity=Severity.WARNING,
                subject=order.order_id,
                detail=f"running for {_age(now - order.start_time)} (threshold "
                f"{_age(self.running_longer_than)}): `oms status {order.order_id}`",
            )
            for order in running
        ]

    async def _closed(self, order_id: str) -> str | None:
        """How the order's workflow ended (None while it runs)."""
        try:
            info = await self.orders.workflow_info(order_id)
        except OrderNotFoundError:
            return "no workflow (never started, or its history is past retention)"
        if info.workflow_status == "RUNNING":
            return None
        return f"workflow {info.workflow_status.lower()}"

    async def left_open(self) -> list[Finding]:
        records = await asyncio.to_thread(self.ledger.open_records)
        by_order: dict[str, list[Record]] = defaultdict(list)
        for record in records:
            by_order[record.order_id].append(record)
        if not by_order:
            return []
        # Open records of running orders are normal: one visibility query sets those aside,
        # and only the rest are described one by one (visibility lags: confirm before telling).
        running = {
            order.order_id
            for order in await self.orders.list(
                limit=100_000, started_before=datetime.now(UTC), this_task_queue=True
            )
        }
        findings = []
        for order_id, open_records in sorted(by_order.items()):
            if order_id in running:
                continue
            closed = await self._closed(order_id)
            if closed is None:
                continue
            what = ", ".join(f"{r.record.lower()} {r.status.value}" for r in open_records)
            findings.append(
                Finding(
                    check="left-open",
                    severity=Severity.CRITICAL,
                    subject=order_id,
                    detail=f"{what} but the order is closed ({closed}): release the stock / "
                    "void the authorization / cancel the package by hand",
                )
            )
            if len(findings) >= MAX_PER_CHECK:
                break
        return findings

    # --- ledger -------------------------------------------------------------------------

    async def stock(self) -> list[Finding]:
        first = await asyncio.to_thread(_stock_problems, self.ledger)
        if not first:
            return []
        # Two scans are not one snapshot: an order reserving in between looks like a mismatch.
        # Only what is wrong twice in a row is reported.
        second = await asyncio.to_thread(_stock_problems, self.ledger)
        return [
            Finding(check="stock", severity=Severity.CRITICAL, subject=sku, detail=detail)
            for sku, detail in second.items()
            if sku in first
        ]

    # --- queues -------------------------------------------------------------------------

    async def dead_letters(self) -> list[Finding]:
        found = await asyncio.to_thread(peek, self.sqs, self.dlq_url)
        findings = [
            Finding(
                check="dead-letters",
                severity=Severity.WARNING,
                subject=letter.message_id,
                detail=f"{letter.kind or 'dead letter'}: {letter.reason} (`oms dlq list`; fix, "
                "then `oms dlq redrive`)",
            )
            for letter in found.letters
        ]
        if found.in_flight:  # not readable now, but there: never an all-clear
            findings.append(
                Finding(
                    check="dead-letters",
                    severity=Severity.WARNING,
                    subject=self.dlq_url.rsplit("/", 1)[-1],
                    detail=f"{found.in_flight} dead letter(s) in flight at another reader (a "
                    "redrive, an `oms dlq list`) or delayed; look again with `oms dlq list`",
                )
            )
        return findings

    async def no_poller(self) -> list[Finding]:
        sample = await sample_queue(self.orders.temporal, self.orders.task_queue)
        if sample.rate_limited or sample.pollers:
            return []
        return [
            Finding(
                check="no-poller",
                severity=Severity.CRITICAL,
                subject=self.orders.task_queue,
                detail="no worker is polling this task queue: orders stall (ECS service "
                "tasks, their logs, the Temporal credentials)",
            )
        ]

    async def versions_without_pollers(self) -> list[Finding]:
        """A build that still gets work (current, ramping) or holds pinned orders (draining)
        with no worker polling: those orders make no progress."""
        client, deployment = self.orders.temporal, self.worker_deployment
        versions = await list_versions(client, deployment)
        live = [v for v in versions if v.status in ("CURRENT", "RAMPING", "DRAINING")]
        if not live:
            return []
        polling = await polling_builds(client, deployment, self.orders.task_queue)
        return [
            Finding(
                check="versions-no-pollers",
                severity=Severity.CRITICAL,
                subject=f"{deployment}:{version.buildId}",
                detail=f"{version.status.lower()} but no worker of this build polls "
                f"{self.orders.task_queue}: its orders wait for nobody (its ECS service, "
                "docs/RUNBOOK.md#drainingbuildwithoutpollers)",
            )
            for version in live
            if version.buildId not in polling
        ]

    async def draining_versions(self) -> list[Finding]:
        """Builds still DRAINING: their pinned orders are open, so their workers must keep
        running (the next deploy keeps their service; remove nothing by hand)."""
        versions = await list_versions(self.orders.temporal, self.worker_deployment)
        return [
            Finding(
                check="versions-draining",
                severity=Severity.WARNING,
                subject=f"{self.worker_deployment}:{version.buildId}",
                detail="still draining: orders pinned to this build are open; keep its workers "
                "until `oms versions list` says DRAINED",
            )
            for version in versions
            if version.status == "DRAINING"
        ]


def _stock_problems(ledger: Ledger) -> dict[str, str]:
    """SKU -> what is wrong: negative numbers, or `reserved` unlike the open reservations."""
    held: dict[str, int] = defaultdict(int)
    for record in ledger.open_records():
        if isinstance(record, Reservation):
            for sku, warehouse, quantity in record.takes():
                held[stock_key(sku, warehouse)] += quantity
    problems: dict[str, str] = {}
    levels = {stock_key(level.sku, level.warehouse): level for level in ledger.scan_stock()}
    for sku, level in levels.items():
        if level.available < 0 or level.reserved < 0:
            problems[sku] = (
                f"negative stock: available {level.available}, reserved {level.reserved}"
            )
        elif level.reserved != held.get(sku, 0):
            problems[sku] = (
                f"reserved {level.reserved} but open reservations hold {held.get(sku, 0)}"
            )
    for sku in held.keys() - levels.keys():
        problems[sku] = f"open reservations hold {held[sku]} of a SKU with no stock item"
    return problems


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
