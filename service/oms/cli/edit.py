"""`oms edit ORDER_ID --item SKU=QTY ... --reason TEXT`: change an order's lines before capture
(§6g). Parsing and rendering only: the call goes through `OrderClient.edit`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.cli.orders import OrderId, _client_call, checked_id
from oms.cli.returns import Items, parse_items
from oms.orders.payloads import EditRequest


@app.command()
@one_line_errors
def edit(
    order_id: OrderId,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the order's steps).")],
    items: Items = None,
    as_json: JsonFlag = False,
) -> None:
    """Change the quantities of an order's lines before payment capture (QTY 0 removes a line;
    at least one stays; prices are the order's own). The stock difference is reserved or
    released at once, the new total authorized (the old hold voided), an `edit` step recorded
    and the customer emailed the new summary.

    Refused (exit 1, nothing changes) once capture has started, or when the new lines are out
    of stock or the new total is declined.

    Example: oms edit ORD-1001 --item MUG-RED=3 --item TEE-L-BLK=0 --reason "customer called"
    """
    lines = parse_items(items)
    if not lines:
        raise CliError("give at least one --item SKU=QTY", exit_code=2)
    try:
        request = EditRequest(items=lines, reason=reason)
    except ValidationError:
        raise CliError("--reason must be 1 to 200 printable characters", exit_code=2) from None

    async def call() -> dict[str, Any]:
        orders = await context.orders()
        answer = await _client_call(orders.edit(checked_id(order_id), request))
        return {"orderId": order_id} | answer.model_dump(mode="json", by_alias=True)

    answer = context.run(call())
    if as_json:
        context.print_json(answer)
    elif answer["accepted"]:
        console.print(f"accepted: {answer['message']}", highlight=False, markup=False)
    else:
        console.print(f"rejected: {answer['message']}", highlight=False, markup=False)
    if not answer["accepted"]:
        raise typer.Exit(1)
