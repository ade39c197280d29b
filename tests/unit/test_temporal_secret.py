"""The Temporal credential comes from Secrets Manager through Powertools' parameters utility,
cached per process. Against the session's moto server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from temporalio.service import TLSConfig

from oms.config import SettingsError
from oms.temporal_client import _credentials_from_secret


@pytest.fixture
def secrets(moto_endpoint: str) -> Any:
    return boto3.client("secretsmanager", endpoint_url=moto_endpoint)


def new_secret(secrets: Any, value: str) -> str:
    arn: str = secrets.create_secret(
        Name=f"oms/temporal-{uuid.uuid4().hex[:8]}", SecretString=value
    )["ARN"]
    return arn


def test_an_api_key_is_read_once_and_then_served_from_the_cache(secrets: Any) -> None:
    arn = new_secret(secrets, json.dumps({"apiKey": "key-1"}))
    assert _credentials_from_secret(arn) == {"api_key": "key-1", "tls": True}

    # A rotation is not seen until the cache entry ages out (SECRET_MAX_AGE_SECONDS): a warm
    # Lambda does not call Secrets Manager per invocation.
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"apiKey": "key-2"}))
    assert _credentials_from_secret(arn)["api_key"] == "key-1"


def test_an_mtls_pair_becomes_the_tls_config(secrets: Any) -> None:
    arn = new_secret(secrets, json.dumps({"tlsCert": "CERT", "tlsKey": "KEY"}))
    tls = _credentials_from_secret(arn)["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key) == (b"CERT", b"KEY")


@pytest.mark.parametrize(
    ("value", "why"),
    [("not json", "not a JSON object"), ('["apiKey"]', "not a JSON object"), ("{}", "needs")],
)
def test_a_wrong_secret_names_the_setting(secrets: Any, value: str, why: str) -> None:
    with pytest.raises(SettingsError, match=f"OMS_TEMPORAL_SECRET_ARN: .*{why}"):
        _credentials_from_secret(new_secret(secrets, value))
