"""`oms submit`: validate everything, then put it on the intake queue; or nothing at all."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from oms.aws import AwsClients
from oms.cli.errors import CliError
from oms.cli.submit import send
from oms.intake.submission import MAX_BATCH_BYTES, Body, batches, split_bodies
from oms.local.demo_orders import order_body
from oms.resources import QueueUrls

from .conftest import drain, error_line, invoke


def orders(count: int) -> list[dict[str, Any]]:
    tag = uuid.uuid4().hex[:8]
    return [order_body(f"SUB-{tag}-{i}", customer=i) for i in range(count)]


def jsonl(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_three_orders_in_json_lines_become_three_messages(
    own_queues: QueueUrls, clients: AwsClients, tmp_path: Path
) -> None:
    bodies = [json.dumps(o) for o in orders(3)]
    # Blank lines are ignored.
    source = jsonl(tmp_path / "orders.jsonl", [bodies[0], "", bodies[1], "   ", bodies[2]])

    result = invoke("submit", source)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("submitted 3 orders")
    sent = drain(clients.sqs, own_queues.intake)
    assert sorted(m["Body"] for m in sent) == sorted(bodies)


def test_json_output_names_the_orders(own_queues: QueueUrls, clients: AwsClients) -> None:
    batch = orders(12)  # more than one SendMessageBatch
    result = invoke("submit", "--json", "-", stdin="\n".join(json.dumps(o) for o in batch))

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "submitted": 12,
        "orderIds": [o["orderId"] for o in batch],
    }
    assert len(drain(clients.sqs, own_queues.intake)) == 12


def test_one_pretty_printed_object_from_stdin_is_one_order(
    own_queues: QueueUrls, clients: AwsClients
) -> None:
    order = orders(1)[0]
    result = invoke("submit", "-", stdin=json.dumps(order, indent=2))

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("submitted 1 order ")
    [message] = drain(clients.sqs, own_queues.intake)
    assert json.loads(message["Body"]) == order


def test_invalid_json_on_line_2_names_the_line_and_sends_nothing(
    own_queues: QueueUrls, clients: AwsClients, tmp_path: Path
) -> None:
    good = [json.dumps(o) for o in orders(3)]
    source = jsonl(tmp_path / "orders.jsonl", [good[0], good[1][:-5], good[2]])

    result = invoke("submit", source)

    assert result.exit_code == 2
    line = error_line(result)
    assert "line 2" in line
    assert "not valid JSON" in line
    assert "nothing was submitted" in line
    assert result.stdout == ""
    assert drain(clients.sqs, own_queues.intake) == []


def test_a_rule_broken_anywhere_sends_nothing(
    own_queues: QueueUrls, clients: AwsClients, tmp_path: Path
) -> None:
    batch = orders(3)
    batch[2]["totalAmount"] = "1.00"
    source = jsonl(tmp_path / "orders.jsonl", [json.dumps(o) for o in batch])

    result = invoke("submit", source)

    assert result.exit_code == 2
    line = error_line(result)
    assert "line 3" in line
    assert "totalAmount" in line
    assert drain(clients.sqs, own_queues.intake) == []


def test_the_same_order_id_twice_in_one_file_is_refused(
    own_queues: QueueUrls, clients: AwsClients
) -> None:
    order = orders(1)[0]
    changed = {**order, "currency": "GBP"}
    result = invoke("submit", "-", stdin=f"{json.dumps(order)}\n{json.dumps(changed)}\n")

    assert result.exit_code == 2
    assert "already on line 1" in error_line(result)
    assert drain(clients.sqs, own_queues.intake) == []


def test_raw_sends_invalid_bodies_as_they_are(
    own_queues: QueueUrls, clients: AwsClients, tmp_path: Path
) -> None:
    broken = '{"orderId": "RAW-1", "items": []'
    source = jsonl(tmp_path / "raw.jsonl", [broken, "not json at all"])

    result = invoke("submit", "--raw", source)

    assert result.exit_code == 0, result.output
    assert sorted(m["Body"] for m in drain(clients.sqs, own_queues.intake)) == sorted(
        [broken, "not json at all"]
    )


@pytest.mark.parametrize(
    ("argument", "stdin", "message"),
    [
        ("missing.jsonl", None, "no such file"),
        ("-", "\n  \n", "no orders in standard input"),
    ],
)
def test_nothing_to_read_is_one_line_and_exit_2(
    own_queues: QueueUrls, argument: str, stdin: str | None, message: str
) -> None:
    result = invoke("submit", argument, stdin=stdin)

    assert result.exit_code == 2
    assert message in error_line(result)


def test_a_missing_intake_queue_is_named(cli: pytest.MonkeyPatch, queues: QueueUrls) -> None:
    cli.setenv("OMS_INTAKE_QUEUE", f"no-such-queue-{uuid.uuid4().hex[:6]}")
    result = invoke("submit", "-", stdin=json.dumps(orders(1)[0]))

    assert result.exit_code == 1
    assert "queue no-such-queue-" in error_line(result)


# --- pure parts -------------------------------------------------------------------------------


def test_split_keeps_line_numbers_and_ignores_blank_and_crlf() -> None:
    bodies = split_bodies('\r\n{"orderId": "A"}\r\n\r\n{"orderId": "B"}\r\n')

    assert [(b.line, b.text, b.order_id) for b in bodies] == [
        (2, '{"orderId": "A"}', "A"),
        (4, '{"orderId": "B"}', "B"),
    ]


def test_batches_respect_the_entry_and_size_limits() -> None:
    small = [Body(i, "x" * 10) for i in range(23)]
    assert [len(b) for b in batches(small)] == [10, 10, 3]

    large = [Body(i, "x" * (60 * 1024)) for i in range(5)]
    groups = batches(large)
    assert [len(b) for b in groups] == [4, 1]
    assert all(sum(len(b.text) for b in group) <= MAX_BATCH_BYTES for group in groups)


class RefusingSqs:
    """SQS that refuses the second entry of every batch."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        return {
            "Successful": [{"Id": e["Id"]} for e in Entries if e["Id"] != "1"],
            "Failed": [{"Id": "1", "Code": "InternalError", "Message": "try again"}],
        }


def test_entries_sqs_refused_are_named_with_exit_1() -> None:
    bodies = [Body(i + 1, "{}", f"ORD-{i}") for i in range(3)]

    with pytest.raises(CliError) as raised:
        send(RefusingSqs(), "http://queue", bodies)

    assert raised.value.exit_code == 1
    assert "1 of 3 orders were not sent" in str(raised.value)
    assert "ORD-1" in str(raised.value)
    assert "the other 2 were submitted" in str(raised.value)
