"""`oms inventory set|list`: stock levels in the DynamoDB inventory table."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import naming, one_line_errors
from oms.orders.models import ID_PATTERN
from oms.parcels.plan import MAIN

inventory_app = typer.Typer(
    name="inventory",
    help="Stock levels (the OMS_INVENTORY_TABLE DynamoDB table).",
    no_args_is_help=True,
    rich_markup_mode="markdown",  # as the root app: docstrings read as paragraphs
)
app.add_typer(inventory_app)


# "-1" must reach the QTY check (one clear line) instead of being parsed as an unknown option.
@inventory_app.command(name="set", context_settings={"ignore_unknown_options": True})
@one_line_errors
def set_(  # noqa: PLR0917 - typer: one parameter per option
    sku: Annotated[
        str, typer.Argument(metavar="SKU", help="The SKU, as in order lines (e.g. MUG-RED).")
    ],
    quantity: Annotated[
        str, typer.Argument(metavar="QTY", help="Units available to sell, 0 or more.")
    ],
    warehouse: Annotated[
        str, typer.Option("--warehouse", metavar="W", help="The warehouse (default main).")
    ] = MAIN,
    supplier: Annotated[
        str | None,
        typer.Option(
            "--supplier",
            metavar="S",
            help="Backorder a shortfall of this SKU from supplier S (kept until --no-supplier).",
        ),
    ] = None,
    no_supplier: Annotated[
        bool,
        typer.Option("--no-supplier", help="No more backorders: a shortfall is out of stock."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set how many units of a SKU a warehouse has available; units reserved by open orders
    are kept. An order that no one warehouse can serve leaves as one parcel per warehouse.
    With --supplier, an order short of this SKU waits BACKORDERED while a purchase order
    brings the missing units (`oms supplier list`).

    Example: oms inventory set MUG-RED 100 --warehouse north

    Example: oms inventory set MUG-RED 1 --supplier ACME
    """
    if not re.fullmatch(ID_PATTERN, sku):
        raise CliError(f"not a SKU: {sku!r} (letters, digits, . _ -; up to 64)", exit_code=2)
    if not re.fullmatch(ID_PATTERN, warehouse):
        raise CliError(
            f"not a warehouse: {warehouse!r} (letters, digits, . _ -; up to 64)", exit_code=2
        )
    # Parsed here rather than by typer, so a bad value is one line like every other error.
    if not re.fullmatch(r"[0-9]{1,9}", quantity):
        raise CliError(
            f"QTY must be a whole number from 0 to 999999999; got {quantity!r}", exit_code=2
        )
    _check_supplier(supplier, no_supplier, warehouse)
    table = context.settings().inventory_table
    with naming(f"table {table}"):
        level = context.ledger().set_stock(
            sku, int(quantity), warehouse, supplier=supplier, no_supplier=no_supplier
        )
    if as_json:
        context.print_json(level)
    else:
        where = "" if level.warehouse == MAIN else f" in {level.warehouse}"
        backorders = f", backordered from {level.supplier}" if level.supplier else ""
        console.print(
            f"{level.sku}{where}: {level.available} available, {level.reserved} reserved"
            f"{backorders}",
            highlight=False,
            markup=False,
        )


def _check_supplier(supplier: str | None, no_supplier: bool, warehouse: str) -> None:
    if supplier is not None and no_supplier:
        raise CliError("--supplier and --no-supplier exclude each other", exit_code=2)
    if supplier is not None and not re.fullmatch(ID_PATTERN, supplier):
        raise CliError(
            f"not a supplier: {supplier!r} (letters, digits, . _ -; up to 64)", exit_code=2
        )
    if (supplier is not None or no_supplier) and warehouse != MAIN:
        # The supplier belongs to the SKU (kept on its main item), not to one warehouse.
        raise CliError(
            "--supplier and --no-supplier apply to the SKU: leave out --warehouse", exit_code=2
        )


@inventory_app.command(name="list")
@one_line_errors
def list_(as_json: JsonFlag = False) -> None:
    """List every SKU with its available and reserved units, one row per warehouse, and the
    supplier a shortfall is backordered from (on the SKU's main row).

    Example: oms inventory list --json
    """
    table = context.settings().inventory_table
    with naming(f"table {table}"):
        levels = context.ledger().scan_stock()
    if as_json:
        context.print_json(levels)
        return
    if not levels:
        console.print("no stock recorded", highlight=False)
        return
    grid = Table()
    grid.add_column("sku")
    grid.add_column("warehouse")
    grid.add_column("available", justify="right")
    grid.add_column("reserved", justify="right")
    grid.add_column("supplier")
    for level in levels:
        grid.add_row(
            Text(level.sku), Text(level.warehouse), str(level.available), str(level.reserved),
            Text(level.supplier or ""),
        )  # fmt: skip
    console.print(grid)
