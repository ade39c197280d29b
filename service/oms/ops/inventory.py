"""Operator access to stock levels (`oms inventory set|list`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class StockLevel(BaseModel):
    sku: str
    available: int
    reserved: int


def set_stock(dynamodb: Any, table: str, sku: str, available: int) -> StockLevel:
    """Set what is available to sell; what is reserved by open orders is kept."""
    response = dynamodb.update_item(
        TableName=table,
        Key={"sku": {"S": sku}},
        UpdateExpression="SET available = :a, reserved = if_not_exists(reserved, :zero)",
        ExpressionAttributeValues={":a": {"N": str(available)}, ":zero": {"N": "0"}},
        ReturnValues="ALL_NEW",
    )
    return _level(response["Attributes"])


def get_stock(dynamodb: Any, table: str, sku: str) -> StockLevel | None:
    item = dynamodb.get_item(TableName=table, Key={"sku": {"S": sku}}, ConsistentRead=True)
    return _level(item["Item"]) if "Item" in item else None


def list_stock(dynamodb: Any, table: str) -> list[StockLevel]:
    levels: list[StockLevel] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        levels.extend(_level(item) for item in page["Items"])
    return sorted(levels, key=lambda level: level.sku)


def _level(item: dict[str, Any]) -> StockLevel:
    return StockLevel(
        sku=item["sku"]["S"],
        available=int(item.get("available", {}).get("N", 0)),
        reserved=int(item.get("reserved", {}).get("N", 0)),
    )
