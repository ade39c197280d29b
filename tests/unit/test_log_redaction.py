"""No customer address in any log line: the filter every entry point's handler carries."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from oms.config import Settings
from oms.logs import configure_logging
from oms.redaction import REDACTED, redact_emails

ADDRESS = "ada.lovelace+orders@example.co.uk"


@pytest.fixture(params=["text", "json"])
def output(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging(Settings(log_format=request.param), service="test")
    stream = io.StringIO()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


def test_an_address_in_the_message_or_its_arguments_is_redacted(output: io.StringIO) -> None:
    log = logging.getLogger("oms.anything")
    log.warning("sending to %s failed", ADDRESS)
    log.warning(f"inline {ADDRESS}")

    text = output.getvalue()
    assert ADDRESS not in text
    assert "@" not in text
    assert text.count(REDACTED) == 2


def test_an_address_in_a_logged_exception_is_redacted(output: io.StringIO) -> None:
    """As the SDK logs a failed activity: the exception (SES names the recipient) with it."""
    error = ClientError(
        {"Error": {"Code": "MessageRejected", "Message": f"not verified: {ADDRESS}"}}, "SendEmail"
    )
    try:
        raise error
    except ClientError:
        logging.getLogger("temporalio.activity").warning(
            "Completing activity as failed", exc_info=True
        )

    text = output.getvalue()
    assert "Completing activity as failed" in text
    assert "MessageRejected" in text or "ClientError" in text
    assert ADDRESS not in text
    assert "@" not in text


def test_a_record_without_an_address_is_left_alone(output: io.StringIO) -> None:
    logging.getLogger("oms.anything").info("order %s completed", "ORD-1")
    assert "order ORD-1 completed" in output.getvalue()


@pytest.mark.parametrize(
    "text",
    ["a@b.co", "x.y+z@sub.example.com", "Grace <grace@example.com>", "mailto:o'neil@example.ie"],
)
def test_address_shapes_are_redacted(text: str) -> None:
    assert "@" not in redact_emails(text)
