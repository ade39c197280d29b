"""`oms review approve|reject ORDER_ID --note TEXT`: a person's decision on an order held
IN_REVIEW (§6g). Parsing and rendering only: the call goes through `OrderClient.review`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.cli.orders import OrderId, _client_call, checked_id
from oms.orders.payloads import ReviewRequest

review_app = typer.Typer(
    name="review",
    help="Decide on an order held IN_REVIEW (above OMS_REVIEW_ABOVE, or flagged by the "
    "payment provider's risk check): `approve` lets it go on to capture, `reject` cancels it "
    "(REVIEW_REJECTED: the hold voided, stock released, one email).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(review_app)

Note = Annotated[str, typer.Option("--note", help="Why (recorded in the order's steps).")]


def _decide(order_id: str, note: str, *, approve: bool, as_json: bool) -> None:
    try:
        request = ReviewRequest(approve=approve, note=note)
    except ValidationError:
        raise CliError("--note must be 1 to 200 printable characters", exit_code=2) from None

    async def call() -> dict[str, Any]:
        orders = await context.orders()
        answer = await _client_call(orders.review(checked_id(order_id), request))
        return {"orderId": order_id} | answer.model_dump(mode="json", by_alias=True)

    answer = context.run(call())
    if as_json:
        context.print_json(answer)
    else:
        verdict = "accepted" if answer["accepted"] else "rejected"
        console.print(f"{verdict}: {answer['message']}", highlight=False, markup=False)
    if not answer["accepted"]:
        raise typer.Exit(1)


@review_app.command()
@one_line_errors
def approve(order_id: OrderId, note: Note, as_json: JsonFlag = False) -> None:
    """Approve an order held IN_REVIEW: it goes on to preparation and capture.

    Example: oms review approve ORD-1001 --note "customer confirmed by phone"
    """
    _decide(order_id, note, approve=True, as_json=as_json)


@review_app.command()
@one_line_errors
def reject(order_id: OrderId, note: Note, as_json: JsonFlag = False) -> None:
    """Reject an order held IN_REVIEW: it ends CANCELLED with reason REVIEW_REJECTED.

    Example: oms review reject ORD-1001 --note "address on a fraud list"
    """
    _decide(order_id, note, approve=False, as_json=as_json)
