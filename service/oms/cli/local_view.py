"""What `oms dev` and `oms demo` show a person: the demo's tables and checks, and the ready
panel that ends with the exact commands to type next."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from urllib.parse import quote

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from oms.cli.app import console
from oms.local.binaries import temporal_cli
from oms.local.demo import DemoOrderResult
from oms.local.scenarios import ScenarioReport
from oms.local.stack import LocalStack
from oms.orders.contract import ORDER_STATUS_ATTRIBUTE


def summary(orders: list[DemoOrderResult], title: str = "Demo orders") -> Table:
    table = Table(title=title, title_justify="left")
    # Order ids are never cut: a person pastes them into `oms status`.
    width = max((len(o.order_id) for o in orders), default=5)
    table.add_column("order", no_wrap=True, min_width=width)
    for column in ("scenario", "outcome", "reason", "steps", "tracking", "emails", "as expected"):
        table.add_column(column)
    for order in orders:
        mark = "[green]✓[/green]" if order.ok else f"[red]✗ expected {order.expected}[/red]"
        table.add_row(
            order.order_id,
            order.scenario,
            str(order.state.value if order.state else "-"),
            order.reason or "",
            str(len(order.steps)),
            order.tracking_number or "",
            str(order.emails),
            mark,
        )
    return table


def print_scenario(report: ScenarioReport) -> None:
    if report.skipped:
        console.print(f"[yellow]- {report.name}: {report.skipped}[/yellow]", highlight=False)
        return
    # One row per kind of order; the extra happy orders are counted, not listed.
    shown = [o for o in report.orders if not o.order_id[-4:].isdigit()]
    if shown:
        more = len(report.orders) - len(shown)
        title = f"Scenario {report.name}" + (f" (+{more} more happy orders)" if more else "")
        console.print(summary(shown, title=title))
    for check in report.checks:
        if check.ok:
            console.print(f"[green]✓[/green] {escape(check.what)}", highlight=False)
        else:
            detail = f": {escape(check.detail)}" if check.detail else ""
            console.print(f"[red]✗ {escape(check.what)}[/red]{detail}", highlight=False)
    verdict = "[green]passed[/green]" if report.passed else "[red]FAILED[/red]"
    console.print(
        f"{report.name} {verdict} in {report.seconds}s ({len(report.orders)} orders). "
        f"{report.proves}\n",
        highlight=False,
    )


def ui_list_url(stack: LocalStack, query: str) -> str:
    return f"{stack.ui_url}/namespaces/default/workflows?query={quote(query)}"


def _shown_path(path: Path) -> str:
    """Relative to the current directory when it is inside it (shorter to read and to type)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def ready_panel(stack: LocalStack, order_id: str | None) -> Panel:
    """Addresses, then the next commands, exactly as a person types them in a new terminal."""
    status = f"oms status {order_id}" if order_id else "oms status ORDER_ID"
    lines = [
        f"Temporal UI  {stack.ui_url}",
        f"Temporal     {stack.temporal_address}",
        f"AWS (moto)   {stack.aws_endpoint}",
        f"Codec server {stack.codec_url}",
        f"Temporal DB  {stack.db_filename or 'in memory'}",
        "",
        f"In the UI, the {ORDER_STATUS_ATTRIBUTE} column tells each order's outcome; orders",
        f"that did not complete: {ui_list_url(stack, _NOT_COMPLETED)}",
        "",
        f"Next, in a new terminal, in {shlex.quote(os.getcwd())}:",
    ]
    if sys.prefix != sys.base_prefix:  # running from a virtual environment
        activate = Path(sys.prefix) / "bin" / "activate"
        lines.append(f"  source {shlex.quote(_shown_path(activate))}")
    lines += [
        f"  {status}",
        "  oms list --status FAILED",
        f"  set -a; . {stack.local_env_path}; set +a   # addresses for the temporal and aws CLIs",
        f"  temporal workflow list --limit 5           # {_shown_path(Path(temporal_cli()))}",
        '  aws --endpoint-url "$AWS_ENDPOINT_URL" sqs list-queues    # AWS CLI: pip install awscli',
        "",
        "Ctrl-C stops everything (a second Ctrl-C does not wait).",
    ]
    return Panel.fit(escape("\n".join(lines)), title="OMS local stack is running")


_NOT_COMPLETED = f"{ORDER_STATUS_ATTRIBUTE} != 'COMPLETED'"
