"""Where a warehouse's units of a SKU live in the stock table (one item per SKU and warehouse).

The `main` warehouse keeps the item keyed by the bare SKU, so stock set before warehouses
existed, and every order served from `main`, read and write the same items as before. Another
warehouse's item is keyed `SKU#WAREHOUSE` (`#` is not allowed in a SKU or a warehouse name).
"""

from __future__ import annotations

from typing import Final

from oms.parcels.plan import MAIN

SEPARATOR: Final = "#"


def stock_key(sku: str, warehouse: str = MAIN) -> str:
    return sku if warehouse == MAIN else f"{sku}{SEPARATOR}{warehouse}"


def split_key(key: str) -> tuple[str, str]:
    """(sku, warehouse) of a stock item's key."""
    sku, _, warehouse = key.partition(SEPARATOR)
    return sku, warehouse or MAIN
