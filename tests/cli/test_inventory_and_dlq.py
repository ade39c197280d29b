"""`oms inventory` and `oms dlq` against the moto server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from oms.aws import AwsClients
from oms.config import Settings
from oms.intake.records import KIND_ATTRIBUTE, REASON_ATTRIBUTE
from oms.ops.dlq import redrive
from oms.resources import QueueUrls

from .conftest import drain, error_line, invoke


def test_inventory_set_then_list_round_trips(
    cli: pytest.MonkeyPatch, queues: QueueUrls, clients: AwsClients, sku: str
) -> None:
    assert invoke("inventory", "set", sku, "7").exit_code == 0
    result = invoke("inventory", "set", sku, "42")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{sku}: 42 available, 0 reserved\n"

    listed = invoke("inventory", "list", "--json")

    assert listed.exit_code == 0, listed.output
    levels = json.loads(listed.stdout)
    row = {"sku": sku, "available": 42, "reserved": 0, "warehouse": "main", "supplier": None}
    assert row in levels
    fields = {"sku", "available", "reserved", "warehouse", "supplier"}
    assert all(set(level) == fields for level in levels)


@pytest.mark.parametrize(
    ("sku", "quantity", "message"),
    [
        ("MUG-RED", "-1", "QTY must be a whole number"),
        ("MUG-RED", "2.5", "QTY must be a whole number"),
        ("MUG-RED", "1000000000", "QTY must be a whole number from 0 to 999999999"),
        ("MUG-RED", "\u0663", "QTY must be a whole number"),  # an Arabic-Indic 3
        ("MUG-RED", "+3", "QTY must be a whole number"),
        ("MUG-RED", "1e3", "QTY must be a whole number"),
        ("MUG-RED", "", "QTY must be a whole number"),
        ("no spaces", "3", "not a SKU"),
    ],
)
def test_inventory_set_refuses_bad_input_without_writing(
    cli: pytest.MonkeyPatch,
    queues: QueueUrls,
    clients: AwsClients,
    settings: Settings,
    sku: str,
    quantity: str,
    message: str,
) -> None:
    ledger = clients.ledger(settings)
    before = ledger.get_stock(sku)
    result = invoke("inventory", "set", sku, quantity)

    assert result.exit_code == 2
    assert message in error_line(result)
    assert ledger.get_stock(sku) == before


def test_inventory_set_accepts_the_largest_quantity(
    cli: pytest.MonkeyPatch, queues: QueueUrls, sku: str
) -> None:
    result = invoke("inventory", "set", sku, "999999999", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "sku": sku,
        "available": 999999999,
        "reserved": 0,
        "warehouse": "main",
        "supplier": None,
    }


def test_a_missing_table_is_named(cli: pytest.MonkeyPatch, queues: QueueUrls) -> None:
    cli.setenv("OMS_INVENTORY_TABLE", "no-such-table")
    result = invoke("inventory", "list")

    assert result.exit_code == 1
    assert "table no-such-table does not exist" in error_line(result)


def dead_letter(clients: AwsClients, urls: QueueUrls, body: str, reason: str) -> str:
    """Put a message on the DLQ the way the intake does: unchanged, the reason attached."""
    sent = clients.sqs.send_message(
        QueueUrl=urls.dlq,
        MessageBody=body,
        MessageAttributes={
            REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason},
            KIND_ATTRIBUTE: {"DataType": "String", "StringValue": "invalid"},
        },
    )
    return str(sent["MessageId"])


def test_dlq_list_shows_the_reason_and_redrive_moves_it_back(
    own_queues: QueueUrls, clients: AwsClients
) -> None:
    body = '{"orderId": "DLQ-1"'
    message_id = dead_letter(clients, own_queues, body, "body is not valid JSON")

    listed = invoke("dlq", "list", "--json")

    assert listed.exit_code == 0, listed.output
    [letter] = json.loads(listed.stdout)
    assert letter["messageId"] == message_id
    assert letter["reason"] == "body is not valid JSON"
    assert letter["kind"] == "invalid"
    assert letter["body"] == body
    table = invoke("dlq", "list").stdout  # for people: a table (cells wrap at 80 columns)
    assert message_id[:8] in table
    assert "invalid" in table

    moved = invoke("dlq", "redrive")

    assert moved.exit_code == 0, moved.output
    assert moved.stdout.startswith("moved 1 dead letter to ")
    assert [m["Body"] for m in drain(clients.sqs, own_queues.intake)] == [body]
    assert json.loads(invoke("dlq", "list", "--json").stdout) == []


def test_an_empty_dlq_lists_as_an_empty_array(own_queues: QueueUrls) -> None:
    result = invoke("dlq", "list", "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_redrive_leaves_letters_that_arrived_after_it_began(
    own_queues: QueueUrls, clients: AwsClients
) -> None:
    # A letter that is still invalid comes back while the redrive runs: it must not circle.
    dead_letter(clients, own_queues, "{}", "came back")
    began = datetime.now(UTC) - timedelta(minutes=1)

    moved = redrive(clients.sqs, own_queues.dlq, own_queues.intake, until=began)

    assert moved == 0
    assert drain(clients.sqs, own_queues.intake) == []
    assert [m["Body"] for m in drain(clients.sqs, own_queues.dlq)] == ["{}"]


def test_redrive_stops_at_the_limit(own_queues: QueueUrls, clients: AwsClients) -> None:
    for i in range(3):
        dead_letter(clients, own_queues, f"{{{i}}}", "bad")

    result = invoke("dlq", "redrive", "--limit", "2", "--json")

    assert json.loads(result.stdout) == {"moved": 2}
    assert len(drain(clients.sqs, own_queues.intake)) == 2
    assert len(drain(clients.sqs, own_queues.dlq)) == 1
