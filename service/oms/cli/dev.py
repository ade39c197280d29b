"""`oms dev` (what `make run` runs) and `oms demo`: the embedded local stack for people."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from oms.cli.app import JsonFlag, app, console, err_console
from oms.cli.context import print_json
from oms.cli.local_view import print_scenario, ready_panel
from oms.cli.local_view import summary as _summary  # noqa: F401 - the e2e tests render with it
from oms.config import load_settings
from oms.local.demo import TERMINAL, DemoOrder, DemoReport
from oms.local.env_file import read_env_file
from oms.local.errors import DemoStalledError, StackError
from oms.local.fault_scenarios import run_scenario
from oms.local.ports import free_port, preferred_or_free
from oms.local.scenarios import FAULT_SCENARIOS, NAMES, NOT_YET, ScenarioReport, Scene
from oms.local.signals import Interrupted, stop_signals
from oms.local.stack import LocalStack, StackOptions
from oms.local.supervisor import Supervisor
from oms.orders.client import OrderClient

LOCAL_ENV = Path(".oms") / "local.env"  # as in `oms.cli` (which loads it)
# `oms dev` lets a person watch subscription cycles (CONTRACT.md §6e): intervals down to PT10S,
# and a backorder's purchase order (§6f) placed after 2 s of collecting rather than a minute;
# unless OMS_SUBSCRIPTION_MIN_INTERVAL / OMS_PURCHASE_COLLECT say otherwise.
DEV_SETTINGS = {
    "subscription_min_interval": os.environ.get("OMS_SUBSCRIPTION_MIN_INTERVAL", "PT10S"),
    "purchase_collect": os.environ.get("OMS_PURCHASE_COLLECT", "PT2S"),
}
CODEC_PORT = 8081  # preferred; any free port when taken (only the UI and local.env use it)

# In `oms dev`, one parcel in 50 gets no carrier event at all: the silence timer's "parcel may
# be lost" (after OMS_DELIVERY_SILENCE_DAYS) shows up in a long-running local stack too.
DEV_SILENT_SHARE = 0.02


class Carrier(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class Supplier(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"
    REJECT = "reject"


Workers = Annotated[int, typer.Option(min=0, max=16, help="worker processes (0: none)")]
Latency = Annotated[
    int,
    typer.Option(
        min=0,
        max=10_000,
        help="simulated latency per step, ms (the cancellation scenario needs more than 0)",
    ),
]


def _say(message: str) -> None:
    """Progress on stderr; a closed terminal (SIGHUP) must not stop the clean-up."""
    with contextlib.suppress(OSError):
        err_console.print(message, highlight=False)


def _progress(message: str) -> None:
    _say(f"[green]✓[/green] {message}")


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
                print_scenario(report)
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


@app.command()
def dev(
    workers: Workers = 1,
    demo: Annotated[bool, typer.Option(help="submit the demo orders once ready")] = True,
    orders: Annotated[int, typer.Option(min=0, help="extra happy-path demo orders")] = 0,
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend (gRPC)")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal web UI")] = 8233,
    aws_port: Annotated[int, typer.Option(help="AWS emulator (moto) endpoint")] = 4566,
    codec_port: Annotated[
        int | None,
        typer.Option(
            help=f"codec server (the UI decodes through it) [default: {CODEC_PORT}, or a free "
            "port when that is taken]",
            show_default=False,
        ),
    ] = None,
    step_latency_ms: Latency = 300,
    db_filename: Annotated[
        str | None,
        typer.Option(help="Temporal's SQLite file (default: a temporary one for this run)"),
    ] = None,
    carrier: Annotated[
        Carrier,
        typer.Option(
            help="auto: an emulated carrier posts events for every shipped parcel; manual: "
            "only `oms carrier event` does"
        ),
    ] = Carrier.AUTO,
    carrier_step_s: Annotated[
        float, typer.Option(min=0.1, max=3600, help="seconds between a parcel's carrier events")
    ] = 5.0,
    supplier: Annotated[
        Supplier,
        typer.Option(
            help="auto: an emulated supplier confirms every purchase order, then delivers it; "
            "reject: it rejects them; manual: only `oms supplier event` answers"
        ),
    ] = Supplier.AUTO,
    supplier_step_s: Annotated[
        float, typer.Option(min=0.1, max=3600, help="seconds between a supplier's answers")
    ] = 5.0,
) -> None:
    """Start the local stack (Temporal dev server + UI, moto, workers, intake bridge), run the
    demo orders, and keep serving until Ctrl-C. A worker, the intake bridge or the Temporal
    server that dies is restarted. Writes .oms/local.env for other terminals.

    Ctrl-C (or SIGTERM, or closing the terminal) stops the workers and the intake first, then
    the servers; a second Ctrl-C does not wait. Exit code 130 after Ctrl-C."""
    settings = load_settings(step_latency_ms=step_latency_ms, **DEV_SETTINGS)
    options = StackOptions(
        temporal_port=temporal_port, ui_port=ui_port, aws_port=aws_port,
        codec_port=codec_port or preferred_or_free("127.0.0.1", CODEC_PORT),
        workers=workers, db_filename=db_filename, carrier=carrier.value,
        carrier_step_s=carrier_step_s, carrier_silent_share=DEV_SILENT_SHARE,
        supplier=supplier.value, supplier_step_s=supplier_step_s,
    )  # fmt: skip
    stack = LocalStack(options, settings, on_progress=_progress)
    with stop_signals(force=lambda: _force(stack)) as signals:
        try:
            stack.start()  # stops what it started if it fails or is interrupted
            _serve(stack, workers=workers, demo=demo, orders=orders)
        except Interrupted:
            pass
        finally:
            signals.stopping = True
            if stack.children.running:  # a failed start stopped its own already
                _say("stopping: workers and the intake finish what they started, then servers…")
                began = time.monotonic()
                stack.stop()
                _say(f"stopped in {time.monotonic() - began:.1f}s")
    raise typer.Exit(signals.exit_code or 0)


def _force(stack: LocalStack) -> None:
    stack.children.kill_all()
    _say("[yellow]second signal: killed every process of the stack[/yellow]")


def _serve(stack: LocalStack, *, workers: int, demo: bool, orders: int) -> None:
    _progress(f"{workers} worker(s) and the intake bridge running; logs in .oms/logs/")
    _progress(f"wrote {stack.local_env_path} (other terminals: oms status, oms submit, ...)")
    example: str | None = None
    if demo and workers == 0:
        _say("[yellow]--workers 0: orders wait until you run `oms worker`")
    if demo and workers > 0:
        try:
            report = run_scenarios(stack, ["orders"], orders)
            example = next((o.order_id for o in report.orders if o.scenario == "happy"), None)
        except DemoStalledError as exc:  # the stack keeps serving; the supervisor takes over
            _say(f"[red]error:[/red] {escape(str(exc))}")
    console.print(ready_panel(stack, example))
    supervisor = Supervisor(stack, on_restart=lambda m: _say(f"[yellow]↻ {m}"))
    while True:
        time.sleep(1.0)
        supervisor.check()  # raises StackError when the emulator dies


def _private_environment() -> None:
    """`oms demo` builds its own stack: what `.oms/local.env` (a running `oms dev`) put in a
    shell's environment must not leak into it, or its processes would talk to that stack."""
    try:
        loaded = read_env_file(LOCAL_ENV) if LOCAL_ENV.exists() else {}
    except StackError:
        loaded = {}  # a broken or stale file: nothing of it to take out
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
            help="all (default), " + ", ".join(NAMES)  # the registry: none left unlisted
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
    settings = load_settings(
        step_latency_ms=step_latency_ms, attention_after_seconds=5, **DEV_SETTINGS
    )
    state_dir = Path(tempfile.mkdtemp(prefix="oms-demo-"))
    options = StackOptions(
        temporal_port=free_port(), ui_port=free_port(), aws_port=free_port(),
        codec_port=free_port(), workers=workers, state_dir=state_dir,
    )  # fmt: skip
    stack = LocalStack(options, settings, on_progress=_progress if not json_output else print_none)
    try:
        with stop_signals(force=lambda: _force(stack)) as signals:
            try:
                stack.start()  # stops what it started if it fails or is interrupted
                report = run_scenarios(stack, names, orders, quiet=json_output)
            finally:
                signals.stopping = True
                stack.stop()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    if json_output:
        print_json(report)
    elif len(report.scenarios) > 1:  # one scenario's own verdict line says it all
        done = [r.name for r in report.scenarios if not r.skipped]
        verdict = "all as expected" if report.passed else "[red]FAILED[/red]"
        console.print(
            f"{len(report.orders)} orders in {', '.join(done)}: {verdict} in "
            f"{report.elapsed_seconds}s"
        )
    raise typer.Exit(0 if report.passed else 1)


def print_none(_message: str) -> None:
    """Progress sink for --json runs: stdout carries only the JSON document."""
