"""`oms subscription create|status|pause|resume|skip|change|cancel|list` (CONTRACT.md §6e).

Parsing and rendering only: every call goes through `SubscriptionClient`.
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.cli.returns import Items, parse_items

T = TypeVar("T")

subscription_app = typer.Typer(
    name="subscription",
    help="Subscriptions: an ordinary order every interval, with reminders and dunning.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(subscription_app)

SubId = Annotated[str, typer.Argument(metavar="SUB_ID", help="The subscription's id.")]


async def _call(call: Coroutine[Any, Any, T]) -> T:
    from oms.orders.client import NoWorkerError
    from oms.subscriptions.client import IntervalTooShortError, SubscriptionNotFoundError

    try:
        return await call
    except (SubscriptionNotFoundError, NoWorkerError) as exc:
        raise CliError(str(exc).strip("'\"")) from None
    except IntervalTooShortError as exc:
        raise CliError(str(exc), exit_code=2) from None


def _answer(answer: Any, as_json: bool) -> None:
    if as_json:
        context.print_json(answer)
    else:
        console.print(f"{'accepted' if answer.accepted else 'rejected'}: {answer.message}")
    if not answer.accepted:
        raise typer.Exit(1)


@subscription_app.command()
@one_line_errors
def create(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A subscription message (JSON).")],
    as_json: JsonFlag = False,
) -> None:
    """Start a subscription from a message file (`"type": "subscription"`, CONTRACT.md §6e)
    directly, without the intake queue. The same subscription id again is a duplicate."""
    from oms.orders.models import InvalidOrderError
    from oms.subscriptions.models import parse_subscription

    try:
        message = parse_subscription(file.read_bytes())
    except (OSError, InvalidOrderError) as exc:
        raise CliError(f"{file}: {exc}", exit_code=2) from None

    async def go() -> str:
        return (await _call((await context.subscriptions()).create(message))).value

    created = context.run(go())
    sid = message.subscription_id
    if as_json:
        context.print_json({"subscriptionId": sid, "created": created})
    elif created == "conflict":
        raise CliError(f"subscription {sid} exists with other content; the first is kept")
    else:
        console.print(f"subscription {sid}: {created}")
    if created == "conflict":
        raise typer.Exit(1)


@subscription_app.command()
@one_line_errors
def status(sub_id: SubId, as_json: JsonFlag = False) -> None:
    """State, cycle, next charge, lines, the orders placed and any dunning."""

    async def go() -> Any:
        return await _call((await context.subscriptions()).status(sub_id))

    found = context.run(go())
    if as_json:
        context.print_json(found)
        return
    console.print(
        f"{found.subscription_id}: {found.state} · cycle {found.cycle}"
        f"{f' of {found.cycles}' if found.cycles else ''} · every {found.interval} · next charge "
        f"{found.next_charge_at or '-'}{' (skipped)' if found.skip_next else ''}"
    )
    for line in found.items:
        console.print(f"  {line.quantity} x {line.sku} @ {line.unit_price} {found.currency}")
    for order in found.orders:
        reason = f" ({order.reason})" if order.reason else ""
        console.print(f"  cycle {order.cycle}: {order.order_id or '-'} {order.state}{reason}")
    if found.dunning is not None:
        console.print(
            f"  dunning: {found.dunning.retries} retries, next {found.dunning.next_retry_at}"
        )


def _update(sub_id: str, name: str, *args: Any, as_json: bool) -> None:
    async def go() -> Any:
        client = await context.subscriptions()
        return await _call(getattr(client, name)(sub_id, *args))

    _answer(context.run(go()), as_json)


@subscription_app.command()
@one_line_errors
def pause(
    sub_id: SubId,
    reason: Annotated[str, typer.Option("--reason", help="Why (1-200).")] = "paused by request",
    as_json: JsonFlag = False,
) -> None:
    """Pause: no charges until `resume`. An order in flight finishes."""
    _update(sub_id, "pause", reason, as_json=as_json)


@subscription_app.command()
@one_line_errors
def resume(
    sub_id: SubId,
    token: Annotated[str | None, typer.Option("--token", help="A new payment token.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Resume a paused subscription (a charge already due is made at once), or a SUSPENDED one
    with a new --token (the declined cycle is charged again at once)."""
    _update(sub_id, "resume", token, as_json=as_json)


@subscription_app.command()
@one_line_errors
def skip(sub_id: SubId, as_json: JsonFlag = False) -> None:
    """Skip the next cycle only (no order, no reminder; it still counts toward `cycles`)."""
    _update(sub_id, "skip", as_json=as_json)


@subscription_app.command()
@one_line_errors
def change(sub_id: SubId, item: Items = None, as_json: JsonFlag = False) -> None:
    """Change the units of the subscription's lines from the next cycle (QTY 0 removes a line;
    at least one stays)."""
    items = parse_items(item)
    if not items:
        raise CliError("name at least one --item SKU=QTY", exit_code=2)
    _update(sub_id, "change", items, as_json=as_json)


@subscription_app.command()
@one_line_errors
def cancel(
    sub_id: SubId,
    reason: Annotated[str, typer.Option("--reason", help="Why (1-200).")],
    as_json: JsonFlag = False,
) -> None:
    """Cancel: no further cycles; an order in flight is cancelled too unless capture started."""
    _update(sub_id, "cancel", reason, as_json=as_json)


@subscription_app.command(name="list")
@one_line_errors
def list_(
    state: Annotated[
        str | None,
        typer.Option("--status", help="ACTIVE, PAUSED, SUSPENDED, CANCELLED or FINISHED."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Subscriptions from Temporal visibility (the `SubscriptionStatus` search attribute)."""
    from oms.subscriptions.contract import SubscriptionState

    try:
        wanted = SubscriptionState(state) if state else None
    except ValueError:
        names = ", ".join(SubscriptionState)
        raise CliError(f"--status must be one of {names}", exit_code=2) from None

    async def go() -> Any:
        return await _call((await context.subscriptions()).list(wanted, limit=limit))

    found = context.run(go())
    rows = [
        {
            "subscriptionId": s.subscription_id,
            "state": s.state,
            "workflowStatus": s.workflow_status,
            "startTime": s.start_time.isoformat(),
        }
        for s in found
    ]
    if as_json:
        context.print_json(rows)
        return
    for row in rows:
        console.print(f"{row['subscriptionId']}  {row['state']}  {row['workflowStatus']}")
