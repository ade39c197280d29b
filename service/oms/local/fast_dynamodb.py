"""moto's DynamoDB transactions at a cost that does not grow with the table.

moto backs up every table a transaction touches with `copy.deepcopy(table)` — once per item
of the transaction — so it can roll back. The stock table also holds one reservation marker
and one package per order, so every reservation and shipment copied a table that grows with
every order: the emulator's CPU per order rose with the run's size. Here the backup is of the
items the transaction names, restored in place if it fails. Backup, write and restore all
happen under `LOCK` (the emulator's DynamoDB lock): a restore outside it would put back items
that other transactions changed meanwhile, losing their writes. Idempotent.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

# One lock for every DynamoDB operation of the emulator (re-entrant: a transaction's writes
# call the backend's own, also locked, operations).
LOCK = threading.RLock()


class _NoTableCopies:
    """`copy` as moto's DynamoDB module sees it: a Table is not copied (we keep item backups)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _key(table: Table, operation: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    attributes = operation.get("Key") or operation["Item"]
    hash_key = DynamoType(attributes[table.hash_key_attr])
    range_attr = table.range_key_attr
    return hash_key, DynamoType(attributes[range_attr]) if range_attr else None


def _backup(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Any]:
    saved = []
    for entry in transact_items:
        for operation in entry.values():
            table = backend.tables.get(operation.get("TableName", ""))
            if table is None or not ({"Key", "Item"} & operation.keys()):
                continue
            hash_key, range_key = _key(table, operation)
            item = table.get_item(hash_key, range_key)
            saved.append((table, hash_key, range_key, copy.deepcopy(item)))
    return saved


def _restore(saved: list[Any]) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if table.has_range_key:
            bucket = table.items[hash_key]
            if item is None:
                bucket.pop(range_key, None)
            else:
                bucket[range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item


def make_transactions_flat() -> None:
    if getattr(DynamoDBBackend, "_oms_flat_transactions", False):
        return
    setattr(models, "copy", _NoTableCopies())  # noqa: B010 - moto reads `copy` from its module
    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with LOCK:
            saved = _backup(self, transact_items)
            try:
                original(self, transact_items)
            except BaseException:
                _restore(saved)
                raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoDBBackend._oms_flat_transactions = True  # type: ignore[attr-defined]
