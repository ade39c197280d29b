"""The order ledger's records expire on the attribute the ledger writes; stock never does."""

from __future__ import annotations

from oms.orders.ledger import EXPIRES_AT
from tests.infra.conftest import Synth


def test_only_the_ledger_table_expires_on_the_attribute_the_ledger_writes(synth: Synth) -> None:
    ttl = {
        tuple(k["AttributeName"] for k in r["Properties"]["KeySchema"]): r["Properties"].get(
            "TimeToLiveSpecification"
        )
        for r in synth.of_type("AWS::DynamoDB::Table").values()
    }
    assert ttl[("orderId", "record")] == {"AttributeName": EXPIRES_AT, "Enabled": True}
    assert ttl[("sku",)] is None
