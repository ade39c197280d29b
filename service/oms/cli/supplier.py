"""`oms supplier event|list` (CONTRACT.md §6f): answer a purchase order as the supplier's webhook
would (through the events queue), and see the purchase orders still open.

Parsing and rendering only: purchase orders through `PurchaseOrderClient`, the event's wire
format from `oms.purchasing.supplier_events`, checked as the events intake checks it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.events.messages import InvalidEventError, parse_event
from oms.purchasing.contract import SupplierStatus
from oms.purchasing.payloads import PurchaseOrderStatus
from oms.purchasing.supplier_events import send_supplier_event, supplier_event_body
from oms.resources import queue_url

supplier_app = typer.Typer(
    name="supplier",
    help="Purchase orders and what the supplier answers (the OMS_EVENTS_QUEUE queue).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(supplier_app)

WITHDRAWN = "WITHDRAWN"  # a waiting order that was cancelled: no longer part of the demand


def _status(value: str) -> SupplierStatus:
    try:
        return SupplierStatus(value.upper())
    except ValueError:
        names = ", ".join(s.lower() for s in SupplierStatus)
        raise CliError(f"STATUS must be one of {names}; got {value!r}", exit_code=2) from None


def _eta(value: str | None, status: SupplierStatus) -> date | None:
    if value is None:
        if status == SupplierStatus.CONFIRMED:
            raise CliError("confirmed needs --eta DATE (e.g. 2026-12-24)", exit_code=2)
        return None
    if status != SupplierStatus.CONFIRMED:
        raise CliError("--eta goes with confirmed only", exit_code=2)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"--eta must be an ISO date (YYYY-MM-DD); got {value!r}", exit_code=2
        ) from None


@supplier_app.command(name="event")
@one_line_errors
def event(  # noqa: PLR0917 - typer: one parameter per option
    purchase_order_id: Annotated[
        str, typer.Argument(metavar="PO_ID", help="The purchase order (po-SUPPLIER-SKU-N).")
    ],
    status: Annotated[
        str, typer.Argument(metavar="STATUS", help="confirmed, rejected or delivered.")
    ],
    eta: Annotated[
        str | None,
        typer.Option("--eta", metavar="DATE", help="When it will arrive (confirmed; ISO date)."),
    ] = None,
    quantity: Annotated[
        int | None,
        typer.Option(
            "--quantity",
            min=1,
            max=1_000_000,
            metavar="N",
            help="Units delivered (delivered; default: what is still owed).",
        ),
    ] = None,
    event_id: Annotated[
        str | None, typer.Option("--event-id", help="The supplier's event id (default: new).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer a purchase order as its supplier: the event goes on the events queue, and from
    there to the purchase order; the same --event-id twice changes nothing. A purchase order
    that does not exist or has ended is refused (`rejected: ...`, exit 1).

    Example: oms supplier event po-ACME-MUG-RED-1 confirmed --eta 2026-12-24

    Example: oms supplier event po-ACME-MUG-RED-1 delivered --quantity 4
    """
    kind = _status(status)
    when = _eta(eta, kind)
    if quantity is not None and kind != SupplierStatus.DELIVERED:
        raise CliError("--quantity goes with delivered only", exit_code=2)
    if event_id is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", event_id):
        raise CliError("--event-id: letters, digits, . _ : - (up to 128)", exit_code=2)
    # Checked as the intake would, before asking anyone: a bad id is bad input (exit 2).
    probe = (quantity or 1) if kind == SupplierStatus.DELIVERED else None
    _check(supplier_event_body(purchase_order_id, kind, eta=when, quantity=probe))

    async def answer() -> str | int:
        """The refusal, or the quantity to send (what is still owed when not given)."""
        purchases = await context.purchase_orders()
        running = await purchases.running(purchase_order_id)
        if running is None:
            return f"unknown purchase order {purchase_order_id}"
        if not running:
            return f"purchase order {purchase_order_id} has ended; an event changes nothing"
        if kind != SupplierStatus.DELIVERED or quantity is not None:
            return quantity or 0
        po = await purchases.status(purchase_order_id)
        owed = po.ordered - po.received
        if owed <= 0:
            return f"purchase order {purchase_order_id} owes nothing now; give --quantity N"
        return owed

    checked = context.run(answer())
    if isinstance(checked, str):
        if as_json:
            context.print_json({"accepted": False, "message": checked})
        else:
            console.print(f"rejected: {checked}", highlight=False, markup=False)
        raise typer.Exit(1)
    units = checked if kind == SupplierStatus.DELIVERED else None
    body = supplier_event_body(purchase_order_id, kind, eta=when, quantity=units, event_id=event_id)
    sent_id = parse_event(body).event_id
    sqs = context.aws().sqs
    message_id = send_supplier_event(sqs, queue_url(sqs, context.settings().events_queue), body)
    if as_json:
        context.print_json(
            {"accepted": True, "messageId": message_id, "eventId": sent_id,
             "purchaseOrderId": purchase_order_id, "status": kind.value, "eta": when,
             "quantity": units}
        )  # fmt: skip
    else:
        detail = f" (ETA {when})" if when else f" ({units} units)" if units else ""
        console.print(
            f"sent {kind.value}{detail} for {purchase_order_id}", highlight=False, markup=False
        )


def _check(body: str) -> None:
    try:
        parse_event(body)
    except InvalidEventError as error:
        raise CliError(error.reason, exit_code=2) from None


def demand(po: PurchaseOrderStatus) -> int:
    """Units the orders joined to this purchase order want (a withdrawn one no longer)."""
    return sum(o.quantity for o in po.orders if o.state != WITHDRAWN)


@supplier_app.command(name="list")
@one_line_errors
def list_(as_json: JsonFlag = False) -> None:
    """List the open purchase orders: supplier, SKU, the waiting orders' demand, what was
    ordered and received, the ETA and the state.

    Example: oms supplier list --json
    """

    async def fetch() -> list[PurchaseOrderStatus]:
        return await (await context.purchase_orders()).list(running_only=True)

    found = [po for po in context.run(fetch()) if not po.state.terminal]
    if as_json:
        context.print_json(
            [
                {"purchaseOrderId": po.purchase_order_id, "supplier": po.supplier,
                 "sku": po.sku, "state": po.state.value, "demand": demand(po),
                 "ordered": po.ordered, "received": po.received, "eta": po.eta,
                 "orders": [o.order_id for o in po.orders if o.state != WITHDRAWN]}
                for po in found
            ]
        )  # fmt: skip
        return
    if not found:
        console.print("no open purchase orders", highlight=False)
        return
    grid = Table()
    for column in ("purchase order", "supplier", "sku", "state"):
        grid.add_column(column)
    for column in ("demand", "ordered", "received"):
        grid.add_column(column, justify="right")
    grid.add_column("eta")
    for po in found:
        grid.add_row(
            Text(po.purchase_order_id), Text(po.supplier), Text(po.sku), po.state.value,
            str(demand(po)), str(po.ordered), str(po.received), str(po.eta or ""),
        )  # fmt: skip
    console.print(grid)
