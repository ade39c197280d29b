"""Ledger records expire (DynamoDB TTL on `expiresAt`) a retention after their last write;
stock items never do. Against the session's moto server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import oms.orders.records
import oms.returns.records  # noqa: F401 - registers the return records
from oms.aws import AwsClients
from oms.config import LEDGER_MARGIN_DAYS, Settings, SettingsError, load_settings
from oms.orders.ledger import EXPIRES_AT, Ledger
from oms.orders.records import RecordState, Reservation
from oms.records import Record

DAY = 86400


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def raw(clients: AwsClients, ledger: Ledger, order_id: str, record: str) -> dict[str, Any]:
    item: dict[str, Any] = clients.dynamodb.get_item(
        TableName=ledger.orders_table, Key=ledger.key(order_id, record), ConsistentRead=True
    )["Item"]
    return item


def test_each_write_moves_the_expiry_to_retention_after_it(
    clients: AwsClients, settings: Settings, ledger: Ledger
) -> None:
    clock = Clock(1_800_000_000)
    expiring = Ledger(
        clients.dynamodb,
        orders_table=ledger.orders_table,
        stock_table=ledger.stock_table,
        retention_days=74,
        clock=clock,
    )
    order_id = f"TTL-{uuid.uuid4().hex[:8]}"
    # Given a record written now
    assert expiring.put_new(Reservation(order_id=order_id, status=RecordState.ACTIVE, lines={}))
    first = int(raw(clients, expiring, order_id, Reservation.KIND)[EXPIRES_AT]["N"])
    assert first == 1_800_000_000 + 74 * DAY
    # When it changes ten days later
    clock.now += 10 * DAY
    expiring.update_fields(Reservation, order_id, set_values={"status": RecordState.RELEASED})
    # Then it expires 74 days after that change, not after its creation
    second = int(raw(clients, expiring, order_id, Reservation.KIND)[EXPIRES_AT]["N"])
    assert second == first + 10 * DAY
    # and the record model ignores the attribute on the way back
    assert expiring.get(Reservation, order_id) is not None


def test_the_default_retention_outlasts_the_return_window_and_parcel_wait() -> None:
    settings = load_settings(return_window_days=30, return_parcel_days=14)
    assert settings.ledger_ttl_days == 30 + 14 + LEDGER_MARGIN_DAYS
    with pytest.raises(SettingsError, match="ledger_retention_days must be at least"):
        load_settings(return_window_days=30, return_parcel_days=14, ledger_retention_days=40)


def test_the_processes_ledger_writes_the_expiry(clients: AwsClients, settings: Settings) -> None:
    ledger = clients.ledger(settings)
    order_id = f"TTL-{uuid.uuid4().hex[:8]}"
    ledger.put_new(Reservation(order_id=order_id, status=RecordState.ACTIVE, lines={}))
    assert EXPIRES_AT in raw(clients, ledger, order_id, Reservation.KIND)


def test_no_ledger_record_uses_the_ttl_attribute_for_its_own_data() -> None:
    # The TTL attribute is written on every item as epoch seconds; a record field of the same
    # name would fail to read back (a hold's expiry once did).
    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    aliases = {
        (model.__name__, field.alias or name)
        for model in subclasses(Record)
        for name, field in model.model_fields.items()  # type: ignore[attr-defined]
    }
    assert [model for model, alias in aliases if alias == EXPIRES_AT] == []
