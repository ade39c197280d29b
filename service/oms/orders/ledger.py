"""The repository of the order ledger and stock tables: the only module that speaks DynamoDB.

Records are pydantic models (`oms.orders.records`); boto3's `TypeSerializer` and
`TypeDeserializer` turn them into attribute maps here and nowhere else. Every compensation
uses one primitive, `undo`: move the record from its active status to its undone status (with
the stock changes that go with it, in one transaction), or leave a tombstone in the undone
status when nothing was done.

With `retention_days`, every write of an order record (put or update) sets `expiresAt` (epoch
seconds) that far ahead, and the table's TTL deletes the record once nothing has written it for
that long (`OMS_LEDGER_RETENTION_DAYS`). Stock items never expire.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from oms.orders.records import Package, Payment, Record, RecordState, Reservation, StockLevel
from oms.parcels.plan import MAIN
from oms.parcels.stock import split_key, stock_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

R = TypeVar("R", bound=Record)
Item = dict[str, Any]

CONDITION_FAILED: Final = "ConditionalCheckFailed"
NEW_RECORD: Final = "attribute_not_exists(orderId)"
# The orders table's TTL attribute (infra/components/storage.py names the same one).
EXPIRES_AT: Final = "expiresAt"
RACE_PASSES: Final = 5  # each pass either finishes or lost a race to a concurrent writer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> Item:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _level(item: Mapping[str, Any]) -> StockLevel:
    values = from_item(item)
    sku, warehouse = split_key(values.pop("sku"))
    return StockLevel.model_validate({**values, "sku": sku, "warehouse": warehouse})


class TransactionConflictError(Exception):
    """A transaction was cancelled because a condition failed; `failed` gives the item indexes."""

    def __init__(self, failed: list[int]) -> None:
        super().__init__(f"conditions failed for transaction items {failed}")
        self.failed = failed


@dataclass(frozen=True)
class Undo:
    undone: bool
    detail: str


class Ledger:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        *,
        orders_table: str,
        stock_table: str,
        retention_days: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = dynamodb
        self.orders_table = orders_table
        self.stock_table = stock_table
        self._retention_seconds = None if retention_days is None else retention_days * 86400
        self._clock = clock

    def expires_at(self) -> int | None:
        """When a record written now may be deleted (None: never)."""
        if self._retention_seconds is None:
            return None
        return int(self._clock()) + self._retention_seconds

    # --- records ------------------------------------------------------------------------

    @staticmethod
    def key(order_id: str, record: str) -> Item:
        return to_item({"orderId": order_id, "record": record})

    def get(self, model: type[R], order_id: str, record: str | None = None) -> R | None:
        response = self._db.get_item(
            TableName=self.orders_table,
            Key=self.key(order_id, record or model.KIND),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else model.model_validate(from_item(item))

    def put_new(self, record: Record) -> bool:
        """Write the record only if it does not exist yet; False if it already did."""
        try:
            self._db.put_item(
                TableName=self.orders_table, Item=self._item(record), ConditionExpression=NEW_RECORD
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def update_fields(
        self,
        model: type[R],
        order_id: str,
        *,
        set_values: Mapping[str, Any] | None = None,
        if_absent: Mapping[str, Any] | None = None,
        add: Mapping[str, int | Decimal] | None = None,
        condition: str | None = None,
        condition_values: Mapping[str, Any] | None = None,
        record: str | None = None,
    ) -> R | None:
        """Update fields (by their camelCase names); None if `condition` failed."""
        request = self._update(
            order_id,
            record or model.KIND,
            set_values=set_values,
            if_absent=if_absent,
            add=add,
            condition=condition,
            condition_values=condition_values,
        )
        try:
            response = self._db.update_item(**request, ReturnValues="ALL_NEW")
        except self._db.exceptions.ConditionalCheckFailedException:
            return None
        return model.model_validate(from_item(response["Attributes"]))

    def undo(
        self,
        model: type[R],
        order_id: str,
        *,
        active: RecordState,
        undone: RecordState,
        effects: Callable[[R], Sequence[TransactWriteItemTypeDef]] = lambda _: (),
        record: str | None = None,
    ) -> Undo:
        """The compensation primitive: `active` -> `undone` with `effects` in one transaction,
        or a tombstone in `undone` when there was nothing; idempotent."""
        kind = record or model.KIND
        for _ in range(RACE_PASSES):
            current = self.get(model, order_id, kind)
            if current is None:
                tombstone = model.model_validate(
                    {"orderId": order_id, "record": kind, "status": undone}
                )
                if self.put_new(tombstone):
                    return Undo(undone=False, detail="nothing to undo")
                continue
            if current.status != active:
                return Undo(undone=False, detail=f"already {current.status.lower()}")
            items = [self.tx_transition(order_id, kind, active, undone), *effects(current)]
            try:
                self.transact(items)
            except TransactionConflictError:
                continue
            return Undo(undone=True, detail=undone.lower())
        raise RuntimeError(f"{kind} of order {order_id} kept changing; retrying")

    # --- transactions -------------------------------------------------------------------

    def transact(self, items: Sequence[TransactWriteItemTypeDef]) -> None:
        try:
            self._db.transact_write_items(TransactItems=list(items))
        except self._db.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            failed = [i for i, r in enumerate(reasons) if r.get("Code") == CONDITION_FAILED]
            if not failed:
                raise  # a transaction conflict or throttling: transient, Temporal retries
            raise TransactionConflictError(failed) from None

    def tx_put_new(self, record: Record) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self.orders_table,
                "Item": self._item(record),
                "ConditionExpression": NEW_RECORD,
            }
        }

    def tx_transition(
        self,
        order_id: str,
        record: str,
        expected: RecordState,
        status: RecordState,
        set_values: Mapping[str, Any] | None = None,
        *,
        unchanged: Mapping[str, Any] | None = None,
    ) -> TransactWriteItemTypeDef:
        """`expected` -> `status`; with `unchanged`, only if those attributes still hold those
        values (optimistic locking for counters such as `refunded`)."""
        condition = "#status = :expected"
        values: dict[str, Any] = {":expected": expected}
        for i, (name, value) in enumerate((unchanged or {}).items()):
            condition += f" AND {name} = :u{i}"
            values[f":u{i}"] = value
        request = self._update(
            order_id,
            record,
            set_values={"status": status, **(set_values or {})},
            condition=condition,
            condition_values=values,
        )
        return {"Update": request}

    def tx_stock(
        self,
        sku: str,
        *,
        available: int = 0,
        reserved: int = 0,
        guard: bool = False,
        warehouse: str = MAIN,
    ) -> TransactWriteItemTypeDef:
        """Move units of `sku` in `warehouse` (positive adds); with `guard`, only if enough are
        available."""
        update: Any = {
            "TableName": self.stock_table,
            "Key": to_item({"sku": stock_key(sku, warehouse)}),
            "UpdateExpression": "SET available = if_not_exists(available, :zero) + :a, "
            "reserved = if_not_exists(reserved, :zero) + :r",
            "ExpressionAttributeValues": to_item({":a": available, ":r": reserved, ":zero": 0}),
        }
        if guard:
            update["ConditionExpression"] = "available >= :need"
            update["ExpressionAttributeValues"].update(to_item({":need": -available}))
        return {"Update": update}

    # --- stock (operators) --------------------------------------------------------------

    def set_stock(
        self,
        sku: str,
        available: int,
        warehouse: str = MAIN,
        *,
        supplier: str | None = None,
        no_supplier: bool = False,
    ) -> StockLevel:
        """Set what `warehouse` has available to sell; what is reserved by open orders is kept.
        Another warehouse than `main` is also listed on the SKU's `main` item (`warehouses`), so
        an order's plan finds it without a scan. With `supplier` (on the SKU's `main` item), a
        shortfall of this SKU is backordered from it; `no_supplier` removes it."""
        key = to_item({"sku": stock_key(sku, warehouse)})
        if warehouse != MAIN:
            self._db.update_item(
                TableName=self.stock_table,
                Key=to_item({"sku": sku}),
                UpdateExpression="SET available = if_not_exists(available, :zero), "
                "reserved = if_not_exists(reserved, :zero) ADD warehouses :w",
                ExpressionAttributeValues=to_item({":zero": 0, ":w": {warehouse}}),
            )
        values: dict[str, Any] = {":a": available, ":zero": 0}
        expression = "SET available = :a, reserved = if_not_exists(reserved, :zero)"
        if warehouse == MAIN and supplier is not None:
            expression += ", supplier = :s"
            values[":s"] = supplier
        elif warehouse == MAIN and no_supplier:
            expression += " REMOVE supplier"
        response = self._db.update_item(
            TableName=self.stock_table,
            Key=key,
            UpdateExpression=expression,
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_NEW",
        )
        return _level(response["Attributes"])

    # --- backorders (§6f) ---------------------------------------------------------------

    def tx_stock_exact(self, sku: str, *, take: int, seen: int) -> TransactWriteItemTypeDef:
        """Reserve `take` units of `sku` only if `seen` are still available (a partial
        reservation of a backordered line takes what it saw, or retries)."""
        update: Any = {
            "TableName": self.stock_table,
            "Key": to_item({"sku": sku}),
            "UpdateExpression": "SET available = :left, "
            "reserved = if_not_exists(reserved, :zero) + :take",
            "ConditionExpression": "available = :seen",
            "ExpressionAttributeValues": to_item(
                {":left": seen - take, ":take": take, ":seen": seen, ":zero": 0}
            ),
        }
        return {"Update": update}

    def purchase_order_number(self, sku: str) -> int:
        """The number of the purchase order collecting demand for `sku` now (from 1)."""
        level = self.get_stock(sku)
        return (level.purchase_orders if level else None) or 1

    def advance_purchase_order(self, sku: str, seen: int) -> None:
        """Purchase order `seen` takes no more demand: the next one is `seen + 1` (once)."""
        # Suppressed: another caller advanced it already.
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
            self._db.update_item(
                TableName=self.stock_table,
                Key=to_item({"sku": sku}),
                UpdateExpression="SET purchaseOrders = :next",
                ConditionExpression="purchaseOrders = :seen OR "
                "(attribute_not_exists(purchaseOrders) AND :seen = :one)",
                ExpressionAttributeValues=to_item({":next": seen + 1, ":seen": seen, ":one": 1}),
            )

    def tx_fill(self, order_id: str, sku: str, quantity: int) -> list[TransactWriteItemTypeDef]:
        """Owed units of an order's active reservation arrived: reserved into its lines."""
        reservation: Any = {
            "TableName": self.orders_table,
            "Key": self.key(order_id, Reservation.KIND),
            "UpdateExpression": "SET #lines.#sku = if_not_exists(#lines.#sku, :zero) + :n "
            "REMOVE #owed.#sku",
            "ConditionExpression": "#status = :active AND #owed.#sku = :n",
            "ExpressionAttributeNames": {
                "#lines": "lines",
                "#owed": "owed",
                "#sku": sku,
                "#status": "status",
            },
            "ExpressionAttributeValues": to_item(
                {":n": quantity, ":zero": 0, ":active": RecordState.ACTIVE.value}
            ),
        }
        return [{"Update": reservation}, self.tx_stock(sku, reserved=quantity)]

    def get_stock(self, sku: str, warehouse: str = MAIN) -> StockLevel | None:
        response = self._db.get_item(
            TableName=self.stock_table,
            Key=to_item({"sku": stock_key(sku, warehouse)}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else _level(item)

    def available_by_warehouse(self, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """warehouse -> sku -> units available, for an order's parcel plan: each SKU's `main`
        item names its other warehouses. Consistent reads; the reservation's guards decide."""
        found: dict[str, dict[str, int]] = {}
        for sku in skus:
            main = self._db.get_item(
                TableName=self.stock_table, Key=to_item({"sku": sku}), ConsistentRead=True
            ).get("Item")
            if main is None:
                continue
            values = from_item(main)
            found.setdefault(MAIN, {})[sku] = int(values.get("available", 0))
            for warehouse in sorted(values.get("warehouses", ())):
                level = self.get_stock(sku, warehouse)
                if level is not None:
                    found.setdefault(warehouse, {})[sku] = level.available
        return found

    def scan_stock(self) -> list[StockLevel]:
        """Every SKU's stock: a scan, for operators (inventory list, doctor), never an order's
        path (its name keeps it apart from the worker's code in the grants test)."""
        levels: list[StockLevel] = []
        pages = self._db.get_paginator("scan").paginate(
            TableName=self.stock_table, ConsistentRead=True
        )
        for page in pages:
            levels.extend(_level(i) for i in page.get("Items", []))
        return sorted(
            levels, key=lambda level: (level.sku, level.warehouse != MAIN, level.warehouse)
        )

    def open_records(self) -> list[Record]:
        """Every reservation, authorization and package still open (ACTIVE, AUTHORIZED,
        PREPARED), whatever its order's state: what `oms doctor` reconciles with Temporal.
        A scan: an operator's occasional read, never on an order's path."""
        kinds: dict[str, type[Record]] = {
            Reservation.KIND: Reservation,
            Payment.KIND: Payment,
            Package.KIND: Package,
        }
        found: list[Record] = []
        pages = self._db.get_paginator("scan").paginate(
            TableName=self.orders_table,
            ConsistentRead=True,
            FilterExpression="#record IN (:r, :p, :k) AND #status IN (:active, :auth, :prep)",
            ExpressionAttributeNames={"#record": "record", "#status": "status"},
            ExpressionAttributeValues=to_item(
                {
                    ":r": Reservation.KIND,
                    ":p": Payment.KIND,
                    ":k": Package.KIND,
                    ":active": RecordState.ACTIVE.value,
                    ":auth": RecordState.AUTHORIZED.value,
                    ":prep": RecordState.PREPARED.value,
                }
            ),
        )
        for page in pages:
            for item in page.get("Items", []):
                values = from_item(item)
                found.append(kinds[values["record"]].model_validate(values))
        return sorted(found, key=lambda record: (record.order_id, record.record))

    def scan_records(self, model: type[R], status: RecordState) -> list[R]:
        """Every record of `model`'s kind in `status`, oldest first: a scan, for the local
        emulators and operators (the emulated supplier's inbox), never an order's path."""
        found: list[R] = []
        pages = self._db.get_paginator("scan").paginate(
            TableName=self.orders_table,
            ConsistentRead=True,
            FilterExpression="#record = :kind AND #status = :status",
            ExpressionAttributeNames={"#record": "record", "#status": "status"},
            ExpressionAttributeValues=to_item({":kind": model.KIND, ":status": status.value}),
        )
        for page in pages:
            found.extend(model.model_validate(from_item(i)) for i in page.get("Items", []))
        return sorted(found, key=lambda record: (record.at, record.order_id))

    # --- helpers ------------------------------------------------------------------------

    def _item(self, record: Record) -> Item:
        values = record.model_dump(by_alias=True, mode="python", exclude_none=True)
        expires = self.expires_at()
        if expires is not None:
            values[EXPIRES_AT] = expires
        return to_item(values)

    def _update(
        self,
        order_id: str,
        record: str,
        *,
        set_values: Mapping[str, Any] | None = None,
        if_absent: Mapping[str, Any] | None = None,
        add: Mapping[str, int | Decimal] | None = None,
        condition: str | None = None,
        condition_values: Mapping[str, Any] | None = None,
    ) -> Any:
        names: dict[str, str] = {"#status": "status"} if "#status" in (condition or "") else {}
        values: dict[str, Any] = dict(condition_values or {})
        expires = self.expires_at()
        if expires is not None:
            # Every write moves the expiry: a record lives `retention` after its last change.
            set_values = {**(set_values or {}), EXPIRES_AT: expires}
        sets: list[str] = []
        adds: list[str] = []
        for i, (name, value) in enumerate((set_values or {}).items()):
            names[f"#s{i}"], values[f":s{i}"] = name, value
            sets.append(f"#s{i} = :s{i}")
        for i, (name, value) in enumerate((if_absent or {}).items()):
            names[f"#f{i}"], values[f":f{i}"] = name, value
            sets.append(f"#f{i} = if_not_exists(#f{i}, :f{i})")
        for i, (name, value) in enumerate((add or {}).items()):
            names[f"#a{i}"], values[f":a{i}"] = name, value
            adds.append(f"#a{i} :a{i}")
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(sets) if sets else "",
                "ADD " + ", ".join(adds) if adds else "",
            )
            if part
        )
        request: dict[str, Any] = {
            "TableName": self.orders_table,
            "Key": self.key(order_id, record),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
        }
        if values:
            request["ExpressionAttributeValues"] = to_item(values)
        if condition:
            request["ConditionExpression"] = condition
        return request
