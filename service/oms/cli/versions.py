"""`oms versions list|promote`: the worker builds in the Temporal Worker Deployment (§7)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.ops.versions import VersionError, list_versions, promote, wait_until_routed

versions_app = typer.Typer(
    name="versions",
    help="Worker builds (versions of the OMS_WORKER_DEPLOYMENT Worker Deployment).",
    no_args_is_help=True,
    rich_markup_mode="markdown",  # as the root app: docstrings read as paragraphs
)
app.add_typer(versions_app)

ROUTED_TIMEOUT = 30.0  # seconds; the server propagates a promote in about one


@versions_app.command(name="list")
@one_line_errors
def list_(as_json: JsonFlag = False) -> None:
    """Show each build with its status: CURRENT, RAMPING, DRAINING, DRAINED or INACTIVE.

    A DRAINED build runs no workflow any more: its workers can be stopped.

    Example: oms versions list --json
    """
    deployment = context.settings().worker_deployment

    async def fetch() -> list[dict[str, object]]:
        client = await context.temporal()
        return [view.as_json() for view in await list_versions(client, deployment)]

    rows = context.run(fetch())
    if as_json:
        context.print_json(rows)
        return
    if not rows:
        console.print(f"no versioned worker has polled deployment {deployment}", markup=False)
        return
    table = Table()
    for column in ("build", "status", "ramp %", "created", "current since"):
        table.add_column(column, overflow="fold")
    for row in rows:
        ramp = row["rampPercentage"]
        table.add_row(
            str(row["buildId"]),
            str(row["status"]),
            "-" if ramp is None else f"{ramp:g}",
            str(row["createdAt"] or "-"),
            str(row["currentSince"] or "-"),
        )
    console.print(table)


@versions_app.command(name="promote")
@one_line_errors
def promote_(
    build_id: Annotated[str, typer.Argument(metavar="BUILD_ID", help="The build to promote.")],
    ramp: Annotated[
        float | None,
        typer.Option(
            "--ramp",
            metavar="PERCENT",
            min=0.0,
            max=100.0,
            help="Route only this share of NEW workflows to the build (the current one keeps "
            "the rest). Without it the build becomes current.",
        ),
    ] = None,
) -> None:
    """Make a build current (or ramping): new orders start on it, running orders stay on the
    build that started them. Rollback: promote the previous build.

    Example: oms versions promote 3f2a9c1 --ramp 10
    """
    if ramp is not None and ramp <= 0:
        raise CliError("--ramp must be more than 0", exit_code=2)
    settings = context.settings()
    deployment = settings.worker_deployment

    async def run() -> None:
        client = await context.temporal()
        await promote(client, deployment, build_id, ramp=ramp, task_queue=settings.task_queue)
        if ramp is None or ramp == 100:  # done when the task queue routes new orders to it
            await wait_until_routed(client, build_id, settings.task_queue, within=ROUTED_TIMEOUT)

    try:
        context.run(run())
    except VersionError as exc:
        raise CliError(str(exc)) from None
    what = "current" if ramp is None or ramp == 100 else f"ramping at {ramp:g}%"
    console.print(f"build {build_id} is now {what} in deployment {deployment}", markup=False)
