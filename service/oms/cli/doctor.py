"""`oms doctor`: find what needs a person (CONTRACT.md §9). Exit 1 when it finds something."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.failures import naming, one_line_errors
from oms.ops.doctor import Doctor, Report
from oms.resources import queue_url


async def _examine(running_longer_than: timedelta) -> Report:
    sqs = context.aws().sqs
    with naming(f"queue {context.settings().dlq}"):
        dlq_url = queue_url(sqs, context.settings().dlq)
    doctor = Doctor(
        orders=await context.orders(),
        ledger=context.ledger(),
        sqs=sqs,
        dlq_url=dlq_url,
        running_longer_than=running_longer_than,
        worker_deployment=context.settings().worker_deployment,
    )
    return await doctor.examine()


@app.command()
@one_line_errors
def doctor(
    running_longer_than: Annotated[
        int,
        typer.Option(
            "--running-longer-than",
            min=1,
            help="Report orders still running after this many minutes.",
        ),
    ] = 60,
    as_json: JsonFlag = False,
) -> None:
    """Find what needs a person: orders NEEDS_ATTENTION or running too long, reservations,
    authorizations or packages left open by a closed order, stock that does not add up, dead
    letters, no worker polling, versions still draining.

    Exit 0 when all is well, 1 when something is found. Run it on a schedule: docs/RUNBOOK.md.

    Example: oms doctor --json
    """
    report = context.run(_examine(timedelta(minutes=running_longer_than)))
    if as_json:
        context.print_json(report)
    elif not report.findings:
        console.print("all clear: nothing needs attention", highlight=False)
    else:
        table = Table()
        for column in ("check", "severity", "subject", "detail"):
            table.add_column(column, overflow="fold")
        for finding in report.findings:
            table.add_row(
                finding.check, finding.severity.value, Text(finding.subject), Text(finding.detail)
            )
        console.print(table)
    if report.findings:
        raise typer.Exit(1)
