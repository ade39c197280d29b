"""`oms dev` (what `make run` runs) and `oms demo`: the embedded local stack for people."""

from __future__ import annotations

import asyncio
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from oms.aws import aws_clients
from oms.cli.app import JsonFlag, app, console, err_console
from oms.cli.context import print_json
from oms.config import load_settings
from oms.local.demo import TERMINAL, DemoOrder, DemoReport, DemoRunner, plan, submit
from oms.local.stack import LocalStack, StackOptions, free_port

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


def _summary(report: DemoReport) -> Table:
    table = Table(title="Demo orders", title_justify="left")
    for column in ("order", "scenario", "outcome", "reason", "steps", "tracking", "emails", ""):
        table.add_column(column)
    for order in report.orders:
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


def run_demo(
    stack: LocalStack, extra_orders: int, *, crash: bool = False, quiet: bool = False
) -> DemoReport:
    """Submit the demo orders through the intake queue and follow them to their outcome."""
    orders = plan(extra_orders)
    started = time.monotonic()
    done = 0

    def on_change(order: DemoOrder) -> None:
        nonlocal done
        if order.state in ("COMPLETED", "CANCELLED", "FAILED"):
            done += 1
        if not quiet and (order.scenario.name != "happy" or done == len(orders) or done % 10 == 0):
            err_console.print(
                f"  {order.order_id:<26} {order.scenario.name:<14} → {order.state}"
                f"   [dim]({done}/{len(orders)} finished)[/dim]",
                highlight=False,
            )

    async def follow() -> DemoReport:
        runner = DemoRunner(
            await stack.orders(), aws_endpoint=stack.aws_endpoint, on_change=on_change
        )
        assert stack.queues is not None
        sqs, queue = aws_clients().sqs, stack.queues.intake
        # The order to cancel goes first, alone, and is cancelled before the rest arrive: on a
        # busy machine it could otherwise finish before anyone sees it in flight.
        first = [o for o in orders if o.scenario.cancel]
        rest = [o for o in orders if not o.scenario.cancel]
        await asyncio.to_thread(submit, sqs, queue, first)
        following_first = asyncio.create_task(runner.follow(first))
        while not all(o.state.startswith("CANCELLING") or o.state in TERMINAL for o in first):  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the followers update the states
        await asyncio.to_thread(submit, sqs, queue, rest)
        if not quiet:
            _progress(f"submitted {len(orders)} orders to the intake queue")
        following_rest = asyncio.create_task(runner.follow(rest))
        if crash:
            await _crash_a_worker(stack, orders, quiet=quiet)
        by_id = {r.order_id: r for r in [*await following_first, *await following_rest]}
        results = [by_id[o.order_id] for o in orders]
        return DemoReport(
            orders=results,
            passed=all(r.ok for r in results),
            temporal_ui=stack.ui_url,
            elapsed_seconds=round(time.monotonic() - started, 2),
        )

    return asyncio.run(follow())


async def _crash_a_worker(stack: LocalStack, orders: list[DemoOrder], *, quiet: bool) -> None:
    """SIGKILL the first worker while orders are mid-flight, then start a replacement."""
    while not any(o.state in ("PAID", "PREPARED") for o in orders):  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # order states are updated by the followers' polling
    victim = stack.workers[0]
    stack.kill_worker(victim)
    if not quiet:
        err_console.print(
            f"[red]✗ killed {victim.name} (pid {victim.pid}) with SIGKILL mid-order[/red]"
        )
    replacement = stack.start_worker()
    if not quiet:
        _progress(f"started {replacement.name}; Temporal hands it the unfinished work")


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
        str | None, typer.Option(help="keep Temporal's state in this SQLite file")
    ] = None,
) -> None:
    """Start the local stack (Temporal dev server + UI, moto, workers, intake bridge), run the
    demo orders, and keep serving until Ctrl-C. Writes .oms/local.env for other terminals."""
    settings = load_settings(step_latency_ms=step_latency_ms)
    options = StackOptions(
        temporal_port=temporal_port, ui_port=ui_port, aws_port=aws_port,
        codec_port=codec_port, workers=workers, db_filename=db_filename,
    )  # fmt: skip
    stack = LocalStack(options, settings, on_progress=_progress)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stack.start()  # stops what it started if it fails
    try:
        _progress(f"{workers} worker(s) and the intake bridge running; logs in .oms/logs/")
        _progress(f"wrote {stack.local_env_path} (other terminals: oms status, oms submit, ...)")
        if demo and workers == 0:
            err_console.print("[yellow]--workers 0: orders wait until you run `oms worker`")
        if demo and workers > 0:
            report = run_demo(stack, orders)
            console.print(_summary(report))
            outcome = "all as expected" if report.passed else "[red]NOT as expected[/red]"
            console.print(f"{len(report.orders)} orders in {report.elapsed_seconds}s: {outcome}")
        console.print(
            Panel.fit(
                f"Temporal UI  {stack.ui_url}\nTemporal     {stack.temporal_address}\n"
                f"AWS (moto)   {stack.aws_endpoint}\nCodec server {stack.codec_url}\n\n"
                "Ctrl-C stops everything.",
                title="OMS local stack is running",
            )
        )
        while not stop.wait(1.0):
            dead = [c for c in stack.children.running if not c.alive()]
            if dead:
                err_console.print(f"[red]{dead[0].name} exited:[/red]\n{dead[0].log_tail()}")
                raise typer.Exit(1)
    finally:
        err_console.print("stopping (workers drain first)…")
        stack.stop()
        err_console.print("stopped")


@app.command()
def demo(
    orders: Annotated[int, typer.Option(min=0, help="extra happy-path orders")] = 0,
    json_output: JsonFlag = False,
    scenario: Annotated[
        str, typer.Option(help="'all' (default) or 'crash': SIGKILL a worker mid-order")
    ] = "all",
    workers: Workers = 2,
    step_latency_ms: Latency = 300,
) -> None:
    """Run the demo on a private local stack (free ports, temporary state): every scenario plus
    N extra orders, print the summary, exit 1 if any order ended differently than expected."""
    if scenario not in ("all", "crash"):
        raise typer.BadParameter("must be 'all' or 'crash'", param_hint="--scenario")
    if workers == 0:
        raise typer.BadParameter("the demo needs at least one worker", param_hint="--workers")
    settings = load_settings(step_latency_ms=step_latency_ms)
    options = StackOptions(
        temporal_port=free_port(), ui_port=free_port(), aws_port=free_port(),
        codec_port=free_port(), workers=workers,
        state_dir=Path(tempfile.mkdtemp(prefix="oms-demo-")),
    )  # fmt: skip
    stack = LocalStack(options, settings, on_progress=_progress if not json_output else print_none)
    stack.start()
    try:
        report = run_demo(stack, orders, crash=scenario == "crash", quiet=json_output)
    finally:
        stack.stop()
    if json_output:
        print_json(report)
    else:
        console.print(_summary(report))
        console.print("all orders as expected" if report.passed else "[red]FAILED[/red]")
    raise typer.Exit(0 if report.passed else 1)


def print_none(_message: str) -> None:
    """Progress sink for --json runs: stdout carries only the JSON document."""
