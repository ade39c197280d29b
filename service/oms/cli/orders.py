"""`oms status`, `oms cancel`, `oms resolve`, `oms list`: support staff's view of orders.

Parsing and rendering only: every call goes through `OrderClient` (oms.orders.client).
"""

from __future__ import annotations

import re
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.cli.views import OrderView, render_orders, render_status
from oms.delivery.contract import DELIVERY_STEP, ResolveAction
from oms.orders.contract import SearchStatus, Step
from oms.orders.models import ID_PATTERN
from oms.orders.payloads import CancelRequest, CancelResponse, ResolveRequest
from oms.returns.contract import ReturnStep, parse_return_id

T = TypeVar("T")

OrderId = Annotated[str, typer.Argument(metavar="ORDER_ID", help="The order's orderId.")]


def checked_id(order_id: str) -> str:
    if not re.fullmatch(ID_PATTERN, order_id):
        raise CliError(f"not an order id: {order_id!r}", exit_code=2)
    return order_id


async def _client_call(call: Coroutine[Any, Any, T]) -> T:
    """The client's errors as one line for a person."""
    from oms.orders.client import NoWorkerError, OrderNotFoundError, SearchAttributeMissingError
    from oms.returns.client import ReturnNotFoundError

    try:
        return await call
    except (
        OrderNotFoundError,
        ReturnNotFoundError,
        NoWorkerError,
        SearchAttributeMissingError,
    ) as exc:
        raise CliError(str(exc).strip("'\"")) from None


async def order_view(order_id: str) -> OrderView:
    orders = await context.orders()
    status = await _client_call(orders.status(order_id))
    try:
        info = await _client_call(orders.workflow_info(order_id))
    except CliError:  # cancelled before it arrived: no workflow yet
        from oms.orders.client import WorkflowInfo

        info = WorkflowInfo(f"order-{order_id}", "NOT_STARTED", orders.task_queue, None, None)
    return OrderView.of(status, info)


@app.command()
@one_line_errors
def status(order_id: OrderId, as_json: JsonFlag = False) -> None:
    """Show an order: state, current step, completed steps with times, tracking number, and the
    failure or cancellation reason.

    A running order is asked through the workflow's `status` query (needs a worker); a finished
    one is read from its result. Exit 1 if there is no such order.

    Example: oms status ORD-1001 --json
    """
    view = context.run(order_view(checked_id(order_id)))
    if as_json:
        context.print_json(view.to_json() | {"parcels": context.run(_parcels(order_id))})
    else:
        render_status(view)


async def _parcels(order_id: str) -> list[dict[str, Any]]:
    from oms.delivery.client import parcels_json

    return await parcels_json(await context.deliveries(), order_id)


async def request_cancel(
    order_id: str, request: CancelRequest, *, before_start: bool = False
) -> dict[str, Any]:
    from oms.orders.client import UnknownOrderError

    orders = await context.orders()

    async def call() -> CancelResponse:
        try:
            return await orders.cancel_order(order_id, request, before_start=before_start)
        except UnknownOrderError:
            raise CliError(
                f"no order {order_id}: nothing cancelled (a mistyped id?). To cancel an order "
                f"not submitted yet: oms cancel {order_id} --before-start --reason ..."
            ) from None

    response = await _client_call(call())
    return {"orderId": order_id} | response.model_dump(mode="json", by_alias=True)


@app.command()
@one_line_errors
def cancel(
    order_id: OrderId,
    reason: Annotated[
        str,
        typer.Option("--reason", help="Why; becomes the order's reason (shown by `oms status`)."),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"orderId", "accepted", "state", "message"}.')
    ] = False,
    before_start: Annotated[
        bool,
        typer.Option(
            "--before-start",
            help="The order has not been submitted yet: cancel it when it arrives. Without "
            "this, an unknown order id is refused.",
        ),
    ] = False,
) -> None:
    """Cancel an order in flight; what was already done is undone (stock released, the card's
    hold voided, package cancelled). An order not submitted yet is cancelled when it arrives,
    with `--before-start`; without it an unknown order id is refused (exit 1).

    Answers at once: accepted (exit 0), or `rejected: <why>` (exit 1) once payment capture has
    started or the order is finished.

    Example: oms cancel ORD-1001 --reason "customer changed their mind"
    """
    try:
        request = CancelRequest(reason=reason)
    except ValidationError:
        raise CliError("--reason must be 1 to 200 characters", exit_code=2) from None
    answer = context.run(request_cancel(checked_id(order_id), request, before_start=before_start))
    if as_json:
        context.print_json(answer)
    elif answer["accepted"]:
        console.print(f"accepted: {answer['message']}", highlight=False, markup=False)
    else:
        console.print(f"rejected: {answer['message']}", highlight=False, markup=False)
    if not answer["accepted"]:
        raise typer.Exit(1)


def parse_status(value: str) -> SearchStatus:
    try:
        return SearchStatus(value.upper())
    except ValueError:
        names = ", ".join(SearchStatus)
        raise CliError(
            f"--status must be one of {names} (the OrderStatus search attribute; a running "
            f"order's step is shown by `oms status`); got {value!r}",
            exit_code=2,
        ) from None


async def list_orders(status: SearchStatus | None, limit: int) -> list[dict[str, Any]]:
    orders = await context.orders()
    rows = await _client_call(orders.list(status, limit=limit))
    return [
        {
            "orderId": row.order_id,
            "state": row.status,
            "workflowStatus": row.workflow_status,
            "startTime": row.start_time.isoformat(),
            "closeTime": row.close_time.isoformat() if row.close_time else None,
            "workflowId": f"order-{row.order_id}",
        }
        for row in rows
    ]


@app.command(name="list")
@one_line_errors
def list_(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Only orders with this OrderStatus: " + ", ".join(SearchStatus) + ".",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="At most this many orders.")
    ] = 20,
    as_json: JsonFlag = False,
) -> None:
    """List orders, newest first, from Temporal visibility, optionally only those with one
    `OrderStatus` (IN_PROGRESS while running, then the outcome, or NEEDS_ATTENTION). Visibility
    lags a moment behind the orders.

    Example: oms list --status FAILED --limit 50
    """
    wanted = parse_status(status) if status is not None else None
    rows = context.run(list_orders(wanted, limit))
    if as_json:
        context.print_json(rows)
    else:
        render_orders(rows)


@app.command()
@one_line_errors
def resolve(
    order_id: OrderId,
    step: Annotated[
        str, typer.Option("--step", help="The stuck step: a compensation or notify_customer.")
    ],
    note: Annotated[str, typer.Option("--note", help="What was done by hand (recorded).")],
    action: Annotated[
        str | None,
        typer.Option(
            "--action", help="With --step delivery: reship (a new parcel) or refund the parcel."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Settle by hand a step that needs attention (an order's compensation or email, or a
    return's refund, restock, release or email; ORDER_ID may be a return id): it stops waiting
    for the step, records the note in its steps and goes on to its outcome.

    Example: oms resolve ORD-1001 --step release_inventory --note "stock fixed by hand"
    """
    is_return = parse_return_id(order_id) is not None
    known = [*ReturnStep] if is_return else [*Step, DELIVERY_STEP]
    try:
        request = ResolveRequest(step=step, note=note)
    except ValidationError:
        raise CliError("--note must be 1 to 200 characters", exit_code=2) from None
    if (step == DELIVERY_STEP) != (action is not None):
        raise CliError("--action reship|refund goes with --step delivery (only)", exit_code=2)
    if action is not None and action not in {a.value for a in ResolveAction}:
        raise CliError("--action must be reship or refund", exit_code=2)
    if step not in known:
        raise CliError(f"--step must be one of {', '.join(known)}", exit_code=2)

    async def call() -> dict[str, Any]:
        if action is not None:
            deliveries = await context.deliveries()
            done = await deliveries.resolve(
                checked_id(order_id), ResolveAction(action), request.note
            )
            return {"orderId": order_id} | done.model_dump(mode="json", by_alias=True)
        if is_return:
            returns = await context.returns()
            answer = await _client_call(returns.resolve(order_id, request.step, request.note))
            return {"returnId": order_id} | answer.model_dump(mode="json", by_alias=True)
        orders = await context.orders()
        settled = await _client_call(
            orders.resolve(checked_id(order_id), request.step, request.note)
        )
        return {"orderId": order_id} | settled.model_dump(mode="json", by_alias=True)

    answer = context.run(call())
    if as_json:
        context.print_json(answer)
    else:
        verdict = "accepted" if answer["accepted"] else "rejected"
        console.print(f"{verdict}: {answer['message']}", highlight=False, markup=False)
    if not answer["accepted"]:
        raise typer.Exit(1)
