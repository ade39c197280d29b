"""How orders look: the JSON documents of `status`/`list` and their rich tables for people.

Everything user-supplied (ids, reasons) is passed to rich as plain `Text`, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from oms.cli.app import console
from oms.orders.client import WorkflowInfo
from oms.orders.contract import OrderState, SearchStatus
from oms.orders.payloads import OrderStatus

STATE_STYLES: dict[str, str] = {
    OrderState.COMPLETED: "green",
    OrderState.CANCELLED: "yellow",
    OrderState.FAILED: "red",
    SearchStatus.NEEDS_ATTENTION: "bold red",
}


def when(value: datetime | str | None, *, zone: bool = True) -> str:
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" + (" UTC" if zone else ""))


def state_text(state: str | None) -> Text:
    if state is None:
        return Text("-")
    return Text(state, style=STATE_STYLES.get(state, "cyan"))


@dataclass(frozen=True)
class OrderView:
    """An order's status plus what Temporal knows about its workflow."""

    status: OrderStatus
    workflow_id: str
    workflow_status: str
    task_queue: str
    start_time: datetime | None
    close_time: datetime | None
    finishing: str | None = None  # outcome known, workflow still running: what it waits for

    @classmethod
    def of(cls, status: OrderStatus, info: WorkflowInfo) -> OrderView:
        return cls(
            status=status,
            workflow_id=info.workflow_id,
            workflow_status=info.workflow_status,
            task_queue=info.task_queue,
            start_time=info.start_time,
            close_time=info.close_time,
            finishing=finishing(status, info),
        )

    def to_json(self) -> dict[str, Any]:
        """The status query's shape (camelCase) plus the workflow's id, status and times."""
        document: dict[str, Any] = self.status.model_dump(mode="json", by_alias=True)
        document.update(
            workflowId=self.workflow_id,
            workflowStatus=self.workflow_status,
            taskQueue=self.task_queue,
            startTime=self.start_time.isoformat() if self.start_time else None,
            closeTime=self.close_time.isoformat() if self.close_time else None,
            finishing=self.finishing,
        )
        return document


# What a running order whose outcome is decided is still doing, by pending activity.
FINISHING_STEPS = {"notify_customer": "emailing"}


def finishing(status: OrderStatus, info: WorkflowInfo) -> str | None:
    """ "emailing (attempt 3)" while an order with an outcome still runs, else None."""
    if info.workflow_status != "RUNNING" or not status.state.terminal:
        return None
    for activity, attempt in info.pending_activities:
        return f"{FINISHING_STEPS.get(activity, activity)} (attempt {attempt})"
    return "recording the outcome"


def render_status(view: OrderView) -> None:
    status = view.status
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    state = state_text(status.state)
    if view.finishing:  # the outcome is decided, the customer not told yet
        state.append(f"  (finishing: {view.finishing})", style="dim")
    facts.add_row("state", state)
    facts.add_row("step now", Text(status.step or "-"))
    if status.reason:
        label = "cancel reason" if status.state == OrderState.CANCELLED else "reason"
        facts.add_row(label, Text(status.reason))
    elif status.cancel_requested:
        facts.add_row("cancel", Text("requested, compensating"))
    if status.attention:
        facts.add_row("needs attention", Text(status.attention, style="bold red"))
    facts.add_row("tracking number", Text(status.tracking_number or "-"))
    if status.package_id:
        facts.add_row("package", Text(status.package_id))
    facts.add_row("email sent", Text("yes" if status.email_sent else "not yet"))
    facts.add_row("workflow", Text(f"{view.workflow_id} ({view.workflow_status})"))
    facts.add_row("started", Text(when(view.start_time)))
    if view.close_time:
        facts.add_row("closed", Text(when(view.close_time)))
    console.print(Panel(facts, title=Text(f"order {status.order_id}"), expand=False))

    if not status.steps:
        console.print("no completed steps yet", highlight=False)
        return
    steps = Table(title="completed steps", title_justify="left")
    steps.add_column("#", justify="right")
    steps.add_column("step")
    steps.add_column("at")
    steps.add_column("detail")
    for number, record in enumerate(status.steps, 1):
        steps.add_row(str(number), record.step, when(record.at), Text(record.detail or ""))
    console.print(steps)


def render_orders(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no orders found", highlight=False)
        return
    table = Table()
    table.add_column("order", overflow="fold")
    for column in ("status", "workflow", "started (UTC)", "closed (UTC)"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(
            Text(row["orderId"]),
            state_text(row["state"]),
            row["workflowStatus"] or "-",
            when(row["startTime"], zone=False),
            when(row["closeTime"], zone=False),
        )
    console.print(table)
