"""`oms dev` (what `make run` runs) and `oms demo`: the embedded local stack for people."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from dotenv import dotenv_values
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from oms.cli.app import JsonFlag, app, console, err_console
from oms.cli.context import print_json
from oms.config import load_settings
from oms.local.demo import TERMINAL, DemoOrder, DemoOrderResult, DemoReport
from oms.local.fault_scenarios import run_scenario
from oms.local.scenarios import FAULT_SCENARIOS, NAMES, NOT_YET, ScenarioReport, Scene
from oms.local.stack import LocalStack, StackOptions, free_port
from oms.local.supervisor import Supervisor
from oms.orders.client import OrderClient

LOCAL_ENV = os.path.join(".oms", "local.env")  # as in `oms.cli` (which loads it)

Workers = Annotated[int, typer.Option(min=0, max=16, help="worker processes (0: none)")]
Latency = Annotated[
    int,
    typer.Option(
        min=0,
        max=10_000,
        help="simulated latency per step, ms (the cancellation scenario needs more than 0)",
    ),
]


def _progress(message: str) -> None:
    err_console.print(f"[green]✓[/green] {message}", highlight=False)


def _summary(orders: list[DemoOrderResult], title: str = "Demo orders") -> Table:
    table = Table(title=title, title_justify="left")
    # Order ids are never cut: a person pastes them into `oms status`.
    width = max((len(o.order_id) for o in orders), default=5)
    table.add_column("order", no_wrap=True, min_width=width)
    for column in ("scenario", "outcome", "reason", "steps", "tracking", "emails", ""):
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


def _scene(stack: LocalStack, orders: OrderClient, *, quiet: bool) -> Scene:
    total = {"done": 0}

    def on_change(order: DemoOrder) -> None:
        if order.state in TERMINAL:
            total["done"] += 1
        if not quiet and (order.scenario.name != "happy" or total["done"] % 10 == 0):
            err_console.print(
                f"  {order.order_id:<26} {order.scenario.name:<14} → {order.state}"
                f"   [dim]({total['done']} finished)[/dim]",
                highlight=False,
            )

    def say(message: str) -> None:
        if not quiet:
            err_console.print(f"[cyan]>[/cyan] {message}", highlight=False)

    return Scene(stack, orders.temporal, orders, say, on_change)


def run_scenarios(
    stack: LocalStack, names: list[str], extra_orders: int, *, quiet: bool = False
) -> DemoReport:
    """Run the scenarios one after the other on the stack; one report for all of them."""
    started = time.monotonic()

    async def run() -> list[ScenarioReport]:
        scene = _scene(stack, await stack.orders(), quiet=quiet)
        reports = []
        for name in names:
            report = await run_scenario(name, scene, extra_orders)
            reports.append(report)
            if not quiet:
                _print_scenario(report)
        return reports

    reports = asyncio.run(run())
    orders = [order for report in reports for order in report.orders]
    return DemoReport(
        orders=orders,
        passed=all(r.passed for r in reports),
        temporal_ui=stack.ui_url,
        elapsed_seconds=round(time.monotonic() - started, 2),
        scenarios=reports,
    )


def _print_scenario(report: ScenarioReport) -> None:
    if report.skipped:
        err_console.print(f"[yellow]- {report.name}: {report.skipped}[/yellow]", highlight=False)
        return
    # One row per kind of order; the extra happy orders are counted, not listed.
    shown = [o for o in report.orders if not o.order_id[-4:].isdigit()]
    if shown:
        more = len(report.orders) - len(shown)
        title = f"Scenario {report.name}" + (f" (+{more} more happy orders)" if more else "")
        console.print(_summary(shown, title=title))
    for check in report.checks:
        if check.ok:
            console.print(f"[green]✓[/green] {check.what}", highlight=False)
        else:
            detail = f": {escape(check.detail)}" if check.detail else ""
            console.print(f"[red]✗ {escape(check.what)}[/red]{detail}", highlight=False)
    verdict = "[green]passed[/green]" if report.passed else "[red]FAILED[/red]"
    console.print(
        f"{report.name} {verdict} in {report.seconds}s. {report.proves}\n", highlight=False
    )


def _on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops `oms dev` exactly as Ctrl-C does


@app.command()
def dev(
    workers: Workers = 1,
    demo: Annotated[bool, typer.Option(help="submit the demo orders once ready")] = True,
    orders: Annotated[int, typer.Option(min=0, help="extra happy-path demo orders")] = 0,
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend (gRPC)")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal web UI")] = 8233,
    aws_port: Annotated[int, typer.Option(help="AWS emulator (moto) endpoint")] = 4566,
    codec_port: Annotated[
        int, typer.Option(help="codec server (the UI decodes through it)")
    ] = 8081,
    step_latency_ms: Latency = 300,
    db_filename: Annotated[
        str | None,
        typer.Option(help="Temporal's SQLite file (default: a temporary one for this run)"),
    ] = None,
) -> None:
    """Start the local stack (Temporal dev server + UI, moto, workers, intake bridge), run the
    demo orders, and keep serving until Ctrl-C. A worker, the intake bridge or the Temporal
    server that dies is restarted. Writes .oms/local.env for other terminals."""
    settings = load_settings(step_latency_ms=step_latency_ms)
    options = StackOptions(
        temporal_port=temporal_port, ui_port=ui_port, aws_port=aws_port,
        codec_port=codec_port, workers=workers, db_filename=db_filename,
    )  # fmt: skip
    stack = LocalStack(options, settings, on_progress=_progress)
    # Ctrl-C (KeyboardInterrupt) works from the first second: during start-up and the demo too.
    signal.signal(signal.SIGTERM, _on_sigterm)
    stack.start()  # stops what it started if it fails or is interrupted
    try:
        _progress(f"{workers} worker(s) and the intake bridge running; logs in .oms/logs/")
        _progress(f"wrote {stack.local_env_path} (other terminals: oms status, oms submit, ...)")
        if demo and workers == 0:
            err_console.print("[yellow]--workers 0: orders wait until you run `oms worker`")
        if demo and workers > 0:
            report = run_scenarios(stack, ["orders"], orders)
            outcome = "all as expected" if report.passed else "[red]NOT as expected[/red]"
            console.print(f"{len(report.orders)} orders in {report.elapsed_seconds}s: {outcome}")
        console.print(
            Panel.fit(
                f"Temporal UI  {stack.ui_url}\nTemporal     {stack.temporal_address}\n"
                f"AWS (moto)   {stack.aws_endpoint}\nCodec server {stack.codec_url}\n"
                f"Temporal DB  {stack.db_filename}\n\n"
                "Ctrl-C stops everything. Try `oms faults set ses --for 30`.",
                title="OMS local stack is running",
            )
        )
        supervisor = Supervisor(stack, on_restart=lambda m: err_console.print(f"[yellow]↻ {m}"))
        while True:
            time.sleep(1.0)
            supervisor.check()  # raises StackError when the emulator dies
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the drain finish
        err_console.print("stopping (workers drain first)…")
        stack.stop()
        err_console.print("stopped")


def _private_environment() -> None:
    """`oms demo` builds its own stack: what `.oms/local.env` (a running `oms dev`) put in the
    environment must not leak into it, or its processes would talk to that other stack."""
    loaded = dotenv_values(LOCAL_ENV) if os.path.exists(LOCAL_ENV) else {}
    for name, value in loaded.items():
        if os.environ.get(name) == value:
            del os.environ[name]


@app.command()
def demo(
    orders: Annotated[int, typer.Option(min=0, help="extra happy-path orders")] = 0,
    json_output: JsonFlag = False,
    scenario: Annotated[
        str,
        typer.Option(
            help="all (default), orders, crash, server-restart, email-outage, dynamodb-outage, "
            "drain, returns"
        ),
    ] = "all",
    workers: Workers = 2,
    step_latency_ms: Latency = 300,
) -> None:
    """Run the demo on a private local stack (free ports, temporary state, removed after):
    each scenario submits every kind of order, makes its fault, checks what it proves and says
    so. Exit 1 if anything ended differently than expected."""
    if scenario not in ("all", *NAMES):
        raise typer.BadParameter(f"must be one of all, {', '.join(NAMES)}", param_hint="--scenario")
    if workers == 0:
        raise typer.BadParameter("the demo needs at least one worker", param_hint="--workers")
    _private_environment()
    names = ["orders", *FAULT_SCENARIOS, *NOT_YET] if scenario == "all" else [scenario]
    # A short attention window, so the dynamodb-outage scenario shows NEEDS_ATTENTION in seconds.
    settings = load_settings(step_latency_ms=step_latency_ms, attention_after_seconds=5)
    state_dir = Path(tempfile.mkdtemp(prefix="oms-demo-"))
    options = StackOptions(
        temporal_port=free_port(), ui_port=free_port(), aws_port=free_port(),
        codec_port=free_port(), workers=workers, state_dir=state_dir,
    )  # fmt: skip
    stack = LocalStack(options, settings, on_progress=_progress if not json_output else print_none)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        stack.start()  # stops what it started if it fails or is interrupted
        try:
            report = run_scenarios(stack, names, orders, quiet=json_output)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            stack.stop()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    if json_output:
        print_json(report)
    else:
        done = [r.name for r in report.scenarios if not r.skipped]
        verdict = "all as expected" if report.passed else "[red]FAILED[/red]"
        console.print(f"{', '.join(done)}: {verdict} in {report.elapsed_seconds}s")
    raise typer.Exit(0 if report.passed else 1)


def print_none(_message: str) -> None:
    """Progress sink for --json runs: stdout carries only the JSON document."""
