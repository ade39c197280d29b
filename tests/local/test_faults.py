"""The emulator's fault API on its own: each service answers boto3 with its own transient
error, in its own protocol, so boto3 raises exactly what it raises during an AWS outage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from oms.local.emulator import start_emulator
from oms.local.faults import (
    FaultsUnreachableError,
    clear_faults,
    injected_errors,
    list_faults,
    set_fault,
)

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def emulator(moto_endpoint: str) -> Iterator[str]:
    """A private emulator, so a fault here never reaches the session's shared one."""
    server = start_emulator()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def endpoint(emulator: str) -> Iterator[str]:
    yield emulator
    clear_faults(emulator)


def client(service: str, endpoint: str, **extra: Any) -> Any:
    return boto3.client(service, endpoint_url=endpoint, config=NO_RETRIES, **extra)


def error_of(call: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("unavailable", (500, "InternalServerError")), ("throttling", (400, "ThrottlingException"))],
)
def test_dynamodb_answers_its_json_errors(
    endpoint: str, kind: str, expected: tuple[int, str]
) -> None:
    dynamodb = client("dynamodb", endpoint)
    set_fault(endpoint, "dynamodb", 30, kind)
    assert error_of(dynamodb.list_tables) == expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("unavailable", (503, "ServiceUnavailable")),
        ("throttling", (429, "TooManyRequestsException")),
    ],
)
def test_sesv2_answers_its_rest_json_errors(
    endpoint: str, kind: str, expected: tuple[int, str]
) -> None:
    sesv2 = client("sesv2", endpoint)
    set_fault(endpoint, "ses", 30, kind)
    assert error_of(sesv2.list_email_identities) == expected
    exceptions = sesv2.exceptions
    if kind == "throttling":  # modelled in SES v2: boto3 raises the typed exception
        with pytest.raises(exceptions.TooManyRequestsException):
            sesv2.list_email_identities()


def test_ses_v1_answers_its_query_error(endpoint: str) -> None:
    set_fault(endpoint, "ses", 30, "throttling")
    assert error_of(client("ses", endpoint).list_identities) == (400, "Throttling")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("unavailable", (503, "ServiceUnavailable")), ("throttling", (400, "RequestThrottled"))],
)
def test_sqs_answers_its_json_errors(endpoint: str, kind: str, expected: tuple[int, str]) -> None:
    set_fault(endpoint, "sqs", 30, kind)
    assert error_of(client("sqs", endpoint).list_queues) == expected


def test_kms_answers_its_json_error(endpoint: str) -> None:
    set_fault(endpoint, "kms", 30)
    assert error_of(client("kms", endpoint).list_keys) == (500, "KMSInternalException")


def test_boto3_standard_retries_treat_the_errors_as_transient(endpoint: str) -> None:
    set_fault(endpoint, "dynamodb", 30, "throttling")
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=endpoint,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )  # fmt: skip
    with pytest.raises(ClientError) as raised:
        dynamodb.list_tables()
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 2


def test_a_fault_touches_only_its_service_and_is_counted(endpoint: str) -> None:
    before = injected_errors(endpoint)["ses"]
    set_fault(endpoint, "ses", 30)
    client("dynamodb", endpoint).list_tables()  # still served
    error_of(client("sesv2", endpoint).list_email_identities)
    [fault] = list_faults(endpoint)
    assert (fault.service, fault.kind, fault.injected) == ("ses", "unavailable", 1)
    assert 29 < fault.remaining_seconds <= 30
    assert injected_errors(endpoint)["ses"] == before + 1


def test_clear_ends_the_outage(endpoint: str) -> None:
    set_fault(endpoint, "sqs", 30)
    set_fault(endpoint, "kms", 30)
    clear_faults(endpoint, "sqs")
    assert [f.service for f in list_faults(endpoint)] == ["kms"]
    client("sqs", endpoint).list_queues()
    clear_faults(endpoint)
    assert list_faults(endpoint) == []


def test_a_fault_ends_by_itself(endpoint: str) -> None:
    set_fault(endpoint, "dynamodb", 0.05)
    deadline = time.monotonic() + 5
    while list_faults(endpoint) and time.monotonic() < deadline:
        time.sleep(0.02)
    client("dynamodb", endpoint).list_tables()


@pytest.mark.parametrize(
    ("service", "seconds"), [("s3", 10), ("ses", 0), ("ses", -1), ("ses", 3601)]
)
def test_bad_requests_are_refused(endpoint: str, service: str, seconds: float) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError is a ValueError
        set_fault(endpoint, service, seconds)


def test_no_emulator_is_a_clear_error() -> None:
    with pytest.raises(FaultsUnreachableError, match="no local emulator"):
        list_faults("http://127.0.0.1:9")
