"""`oms return ORDER_ID ...`, `oms return receive|status|cancel RETURN_ID`: returns (RMA).

Parsing and rendering only: every call goes through `ReturnClient` (oms.returns.client).
"""

from __future__ import annotations

import re
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.cli.orders import checked_id
from oms.orders.models import ID_PATTERN

T = TypeVar("T")
ITEM = re.compile(r"^(?P<sku>[A-Za-z0-9][A-Za-z0-9._-]{0,63})=(?P<qty>\d{1,3})$")


class _OpenByDefault(TyperGroup):
    """`oms return ORDER_ID ...` opens a return; the words receive/status/cancel (and open)
    name the other subcommands."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["open", *args]
        return super().parse_args(ctx, args)


return_app = typer.Typer(
    name="return",
    cls=_OpenByDefault,
    help="Returns (RMA): `oms return ORDER_ID --item SKU=QTY --reason TEXT` opens one; "
    "`receive`, `status` and `cancel` follow it by its return id.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(return_app)

ReturnId = Annotated[
    str, typer.Argument(metavar="RETURN_ID", help="The return's id: return-<orderId>-<n>.")
]
Items = Annotated[
    list[str] | None,
    typer.Option("--item", metavar="SKU=QTY", help="A line and its units; repeat per SKU."),
]


def parse_items(values: list[str] | None) -> dict[str, int] | None:
    if not values:
        return None
    items: dict[str, int] = {}
    for value in values:
        match = ITEM.fullmatch(value)
        if match is None or value.split("=", 1)[0] in items:
            raise CliError(
                f"--item must be SKU=QTY with QTY 0 to 999, each SKU once; got {value!r}",
                exit_code=2,
            )
        items[match["sku"]] = int(match["qty"])
    return items


def checked_return_id(value: str) -> str:
    from oms.returns.contract import parse_return_id

    if parse_return_id(value) is None:
        raise CliError(f"not a return id: {value!r} (return-<orderId>-<n>)", exit_code=2)
    return value


async def _call(call: Coroutine[Any, Any, T]) -> T:
    """The client's errors as one line for a person."""
    from oms.orders.client import NoWorkerError, OrderNotFoundError
    from oms.returns.book import NotReturnableError
    from oms.returns.client import ReturnNotFoundError

    try:
        return await call
    except (OrderNotFoundError, NoWorkerError, ReturnNotFoundError) as exc:
        raise CliError(str(exc).strip("'\"")) from None
    except NotReturnableError as exc:
        raise CliError(f"not returnable: {exc}") from None


@return_app.command(name="open")
@one_line_errors
def open_(  # noqa: PLR0917 - typer: one parameter per option
    order_id: Annotated[str, typer.Argument(metavar="ORDER_ID", help="A COMPLETED order.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the customer returns (1-200).")],
    item: Items = None,
    request_id: Annotated[
        str | None,
        typer.Option("--request-id", help="Idempotency: the same id gives the same return."),
    ] = None,
    parcel: Annotated[
        int | None,
        typer.Option(
            "--parcel",
            min=1,
            help="Take the units from this delivered parcel only (default: the delivered "
            "parcels, first first).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"returnId", "orderId", "state", "items"}.')
    ] = False,
) -> None:
    """Open a return of shipped units of a COMPLETED order, within OMS_RETURN_WINDOW_DAYS of
    shipping; at most shipped minus already returned per SKU (checked atomically), and only
    units of delivered parcels. The customer gets the return instructions by email. Exit 1 if
    the order or units are not returnable.

    Example: oms return ORD-1001 --item MUG-RED=1 --reason "chipped" --request-id RMA-77
    """
    items = parse_items(item)
    if items is None or not any(items.values()):
        raise CliError("give at least one --item SKU=QTY with QTY above 0", exit_code=2)
    if not 1 <= len(reason.strip()) <= 200:
        raise CliError("--reason must be 1 to 200 characters", exit_code=2)
    if request_id is not None and not re.fullmatch(ID_PATTERN, request_id):
        raise CliError(f"not a request id: {request_id!r}", exit_code=2)
    wanted = {sku: q for sku, q in items.items() if q}

    async def call() -> dict[str, Any]:
        returns = await context.returns()
        opened = await _call(
            returns.open(
                checked_id(order_id), wanted, reason=reason, request_id=request_id, parcel=parcel
            )
        )
        return opened.model_dump(
            mode="json", by_alias=True, include={"return_id", "order_id", "state", "items"}
        )

    answer = context.run(call())
    if as_json:
        context.print_json(answer)
    else:
        console.print(f"{answer['returnId']}: {answer['state']}", highlight=False, markup=False)


@return_app.command()
@one_line_errors
def receive(
    return_id: ReturnId,
    item: Annotated[
        list[str] | None,
        typer.Option(
            "--item", metavar="SKU=QTY", help="Accepted units per SKU (default: all requested)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record the parcel's arrival (the warehouse scan): the accepted units are refunded and put
    back into available stock, and the customer is told. Exit 1 if the return is closed.

    Example: oms return receive return-ORD-1001-1 --item MUG-RED=1
    """
    accepted = parse_items(item)

    async def call() -> dict[str, Any]:
        returns = await context.returns()
        answer = await _call(returns.receive(checked_return_id(return_id), accepted))
        return {"returnId": return_id} | answer.model_dump(mode="json", by_alias=True)

    _verdict(context.run(call()), as_json)


@return_app.command()
@one_line_errors
def cancel(
    return_id: ReturnId,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (recorded).")
    ] = "cancelled by request",
    as_json: JsonFlag = False,
) -> None:
    """Cancel a return before its parcel arrives: the units become returnable again and the
    customer is told. Exit 1 once the parcel was received or the return is closed.

    Example: oms return cancel return-ORD-1001-1
    """

    async def call() -> dict[str, Any]:
        returns = await context.returns()
        answer = await _call(returns.cancel(checked_return_id(return_id), reason))
        return {"returnId": return_id} | answer.model_dump(mode="json", by_alias=True)

    _verdict(context.run(call()), as_json)


@return_app.command()
@one_line_errors
def status(return_id: ReturnId, as_json: JsonFlag = False) -> None:
    """Show a return: state, items, accepted units, refund amount and steps with times.

    Example: oms return status return-ORD-1001-1 --json
    """

    async def call() -> dict[str, Any]:
        returns = await context.returns()
        found = await _call(returns.status(checked_return_id(return_id)))
        return found.model_dump(mode="json", by_alias=True)

    view = context.run(call())
    if as_json:
        context.print_json(view)
        return
    console.print(f"{view['returnId']} (order {view['orderId']}): {view['state']}", markup=False)
    for line in view["items"]:
        console.print(f"  {line['quantity']} x {line['sku']} @ {line['unitPrice']}", markup=False)
    if view["refundAmount"] is not None:
        console.print(f"  refunded {view['refundAmount']} {view['currency']}", markup=False)
    for step in view["steps"]:
        detail = f" ({step['detail']})" if step["detail"] else ""
        console.print(f"  {step['at']}  {step['step']}{detail}", markup=False)


def _verdict(answer: dict[str, Any], as_json: bool) -> None:
    if as_json:
        context.print_json(answer)
    else:
        verdict = "accepted" if answer["accepted"] else "rejected"
        console.print(f"{verdict}: {answer['message']}", highlight=False, markup=False)
    if not answer["accepted"]:
        raise typer.Exit(1)
