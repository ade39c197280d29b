"""`oms status`, `oms cancel`, `oms list`: support staff's view of orders, through Temporal.

A running order answers the workflow's `status` query (a worker must be polling); a closed one
is read from its result, which needs no worker. Listing uses visibility and the `OrderStatus`
search attribute.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.cli.views import OrderView, render_orders, render_status
from oms.orders.contract import (
    CANCEL_UPDATE,
    ORDER_STATUS_ATTRIBUTE,
    ORDER_STATUS_KEY,
    ORDER_WORKFLOW_TYPE,
    STATUS_QUERY,
    OrderState,
    order_id_from_workflow_id,
    order_workflow_id,
)
from oms.orders.models import ID_PATTERN
from oms.orders.payloads import CancelRequest, CancelResponse, OrderResult, OrderStatus

# Short: a person is waiting, and a query or update with no worker polling waits forever.
QUERY_TIMEOUT = timedelta(seconds=5)
UPDATE_TIMEOUT = timedelta(seconds=10)

OrderId = Annotated[str, typer.Argument(metavar="ORDER_ID", help="The order's orderId.")]


def checked_id(order_id: str) -> str:
    if not re.fullmatch(ID_PATTERN, order_id):
        raise CliError(f"not an order id: {order_id!r}", exit_code=2)
    return order_id


def recorded_state(execution: Any) -> OrderState | None:
    """The state the workflow last wrote to its `OrderStatus` search attribute."""
    value = execution.typed_search_attributes.get(ORDER_STATUS_KEY)
    try:
        return OrderState(value) if value is not None else None
    except ValueError:
        return None


async def describe(client: Any, order_id: str) -> tuple[Any, Any]:
    from temporalio.service import RPCError, RPCStatusCode

    handle = client.get_workflow_handle(order_workflow_id(order_id), result_type=OrderResult)
    try:
        return handle, await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise CliError(f"no order {order_id}") from None
        raise


def _no_worker(what: str, timeout: timedelta, task_queue: str) -> str:
    return (
        f"no worker answered the {what} within {timeout.total_seconds():g} s "
        f"(is `oms worker` polling task queue {task_queue}?)"
    )


async def query_status(handle: Any, description: Any) -> OrderStatus:
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError, RPCStatusCode

    try:
        status: OrderStatus = await handle.query(
            STATUS_QUERY, result_type=OrderStatus, rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as exc:
        # The client-side timeout surfaces as CANCELLED, the server's as DEADLINE_EXCEEDED.
        if exc.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
            raise CliError(
                _no_worker("status query", QUERY_TIMEOUT, description.task_queue)
            ) from None
        raise
    except WorkflowQueryFailedError as exc:
        raise CliError(f"the status query failed: {exc}") from None
    return status


async def closed_status(handle: Any, description: Any, order_id: str) -> OrderStatus:
    """The result of a closed order, in the shape of the status query."""
    from temporalio.client import WorkflowFailureError

    try:
        result: OrderResult = await handle.result()
    except WorkflowFailureError as exc:
        # Terminated, timed out or cancelled in Temporal itself: no result, only the state the
        # order had reached, and why the workflow stopped.
        how = description.status.name.lower() if description.status else "closed"
        return OrderStatus(
            order_id=order_id,
            state=recorded_state(description) or OrderState.RECEIVED,
            reason=f"workflow {how}: {exc.cause}",
        )
    return OrderStatus(
        order_id=result.order_id,
        state=result.state,
        steps=result.steps,
        reason=result.reason,
        tracking_number=result.tracking_number,
        cancel_requested=result.state == OrderState.CANCELLED,
        email_sent=True,  # the workflow returns only after the outcome email was sent
    )


async def order_view(order_id: str) -> OrderView:
    from temporalio.client import WorkflowExecutionStatus

    client = await context.temporal()
    handle, description = await describe(client, order_id)
    if description.status == WorkflowExecutionStatus.RUNNING:
        status = await query_status(handle, description)
    else:
        status = await closed_status(handle, description, order_id)
    return OrderView.of(status, description)


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
        context.print_json(view.to_json())
    else:
        render_status(view)


async def request_cancel(order_id: str, request: CancelRequest) -> dict[str, Any]:
    from temporalio.client import (
        WorkflowExecutionStatus,
        WorkflowUpdateFailedError,
        WorkflowUpdateRPCTimeoutOrCancelledError,
    )
    from temporalio.service import RPCError, RPCStatusCode

    client = await context.temporal()
    handle, description = await describe(client, order_id)
    state = recorded_state(description)
    answer: dict[str, Any] = {"orderId": order_id, "accepted": False, "state": state}
    if description.status != WorkflowExecutionStatus.RUNNING:
        return answer | {"message": f"order is already {state or 'closed'}"}
    try:
        response: CancelResponse = await handle.execute_update(
            CANCEL_UPDATE, request, result_type=CancelResponse, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as exc:  # the workflow's validator said no
        return answer | {"message": str(exc.cause)}
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        # The server keeps the admitted update: a worker that turns up later still applies it.
        no_worker = _no_worker("cancel request", UPDATE_TIMEOUT, description.task_queue)
        raise CliError(
            f"{no_worker}; it may still apply when a worker picks the order up: check "
            f"`oms status {order_id}`"
        ) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # finished between describe and update
            return answer | {"message": "order is already finished"}
        raise
    return answer | {"accepted": True, "state": response.state, "message": response.message}


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
) -> None:
    """Cancel an order in flight; what was already done is undone (stock released, payment
    refunded, package cancelled).

    Answers at once: accepted (exit 0), or `rejected: <why>` (exit 1) once shipping has started
    or the order is finished.

    Example: oms cancel ORD-1001 --reason "customer changed their mind"
    """
    try:
        request = CancelRequest(reason=reason)
    except ValidationError:
        raise CliError("--reason must be 1 to 200 characters", exit_code=2) from None
    answer = context.run(request_cancel(checked_id(order_id), request))
    if as_json:
        context.print_json(answer)
    elif answer["accepted"]:
        console.print(f"accepted: {answer['message']}", highlight=False, markup=False)
    else:
        console.print(f"rejected: {answer['message']}", highlight=False, markup=False)
    if not answer["accepted"]:
        raise typer.Exit(1)


def parse_state(value: str) -> OrderState:
    try:
        return OrderState(value.upper())
    except ValueError:
        names = ", ".join(OrderState)
        raise CliError(f"--status must be one of {names}; got {value!r}", exit_code=2) from None


async def list_orders(state: OrderState | None, limit: int) -> list[dict[str, Any]]:
    from temporalio.service import RPCError, RPCStatusCode

    client = await context.temporal()
    query = f"WorkflowType = '{ORDER_WORKFLOW_TYPE}'"
    if state is not None:
        query += f" AND {ORDER_STATUS_ATTRIBUTE} = '{state.value}'"
    try:
        return [
            {
                "orderId": order_id_from_workflow_id(execution.id),
                "state": recorded_state(execution),
                "workflowStatus": execution.status.name if execution.status else None,
                "startTime": execution.start_time.isoformat(),
                "closeTime": execution.close_time.isoformat() if execution.close_time else None,
                "workflowId": execution.id,
            }
            async for execution in client.list_workflows(query, limit=limit)
        ]
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT and ORDER_STATUS_ATTRIBUTE in exc.message:
            raise CliError(
                f"the {ORDER_STATUS_ATTRIBUTE} search attribute is not registered on this "
                "namespace: `temporal operator search-attribute create "
                f"--name {ORDER_STATUS_ATTRIBUTE} --type Keyword`"
            ) from None
        raise


@app.command(name="list")
@one_line_errors
def list_(
    state: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATE",
            help="Only orders in this state: " + ", ".join(OrderState) + ".",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="At most this many orders.")
    ] = 20,
    as_json: JsonFlag = False,
) -> None:
    """List orders, newest first (running ones, then the most recently finished), from Temporal
    visibility, optionally only those in one state. Visibility lags a moment behind the orders.

    Example: oms list --status FAILED --limit 50
    """
    wanted = parse_state(state) if state is not None else None
    rows = context.run(list_orders(wanted, limit))
    if as_json:
        context.print_json(rows)
    else:
        render_orders(rows)
