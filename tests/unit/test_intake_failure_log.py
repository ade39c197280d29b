"""A record the intake cannot start says why in the log, at WARNING, without personal data."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from oms.intake.records import Message, OrderIntake
from oms.local.demo_orders import order_body


class _Refusing:
    """An order client whose Temporal answers UNAVAILABLE."""

    async def submit(self, *_: Any, **__: Any) -> Any:
        raise RPCError("connection refused by the frontend", RPCStatusCode.UNAVAILABLE, b"")


async def test_a_failed_start_is_logged_with_its_reason_and_no_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = order_body("LOG-1")
    intake = OrderIntake(orders=_Refusing(), sqs=None, dlq_url="")  # type: ignore[arg-type]

    with caplog.at_level(logging.INFO, logger="oms.intake"), pytest.raises(RPCError):
        await intake.accept(Message(message_id="m-1", body=json.dumps(body)))

    [entry] = [r for r in caplog.records if r.name == "oms.intake.records"]
    assert entry.levelno == logging.WARNING
    line = entry.getMessage()
    assert "LOG-1" in line
    assert "UNAVAILABLE" in line
    assert "connection refused" in line
    customer = body["customer"]
    for personal in (customer["name"], customer["email"], customer["address"]["line1"]):
        assert personal not in line
