"""Connecting to Temporal, with the one data converter every process uses.

The connection comes from Temporal's standard environment configuration
(`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_CLIENT_CERT_DATA` /
`..._KEY_DATA`, or a TOML profile), so the same code runs against the local dev server and
Temporal Cloud. Everything uses the one data converter built by `data_converter`: pydantic
JSON, then (with `OMS_PAYLOAD_KEY_ID`) the KMS envelope codec, with failure messages and stack
traces moved into the encrypted failure payload.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import boto3
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfig
from temporalio.service import TLSConfig

from oms.codec import DataKeys, EnvelopeCodec, kms_client
from oms.config import Settings, SettingsError

DEFAULT_ADDRESS = "localhost:7233"


def connect_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `Client.connect`, from envconfig plus the optional secret."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if settings.temporal_secret_arn:
        config.update(_credentials_from_secret(settings.temporal_secret_arn))
    return config


def _credentials_from_secret(secret_id: str) -> dict[str, Any]:
    raw = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        secret = json.loads(raw)
    except json.JSONDecodeError:
        raise SettingsError("OMS_TEMPORAL_SECRET_ARN: the secret is not JSON") from None
    if secret.get("apiKey"):
        return {"api_key": secret["apiKey"], "tls": True}
    if secret.get("tlsCert") and secret.get("tlsKey"):
        cert, key = secret["tlsCert"].encode(), secret["tlsKey"].encode()
        return {"tls": TLSConfig(client_cert=cert, client_private_key=key)}
    raise SettingsError(
        'OMS_TEMPORAL_SECRET_ARN: the secret needs "apiKey", or "tlsCert" and "tlsKey"'
    )


def data_converter(settings: Settings, kms: Any | None = None) -> DataConverter:
    """The data converter of every process that talks to Temporal (worker, starter, CLI, demo,
    tests, replayer, bench). `kms` defaults to a client following boto3's conventions."""
    if not settings.payload_key_id:
        return pydantic_data_converter
    keys = DataKeys(kms if kms is not None else kms_client(), settings.payload_key_id)
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EnvelopeCodec(keys),
        # Failure messages are not payloads unless this moves them into one.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(
    settings: Settings, *, lazy: bool = False, converter: DataConverter | None = None
) -> Client:
    config = connect_config(settings)
    return await Client.connect(
        **config, data_converter=converter or data_converter(settings), lazy=lazy
    )
