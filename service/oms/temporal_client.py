"""Connecting to Temporal, with the one data converter every process uses.

The connection comes from Temporal's standard environment configuration
(`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_CLIENT_CERT_DATA` /
`..._KEY_DATA`, or a TOML profile), so the same code runs against the local dev server and
Temporal Cloud. Everything uses the one data converter built by `data_converter`: pydantic
JSON, then (with `OMS_PAYLOAD_KEY_ID`) the KMS envelope codec, with failure messages and stack
traces moved into the encrypted failure payload.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aws_lambda_powertools.utilities.parameters import get_secret
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfig
from temporalio.service import TLSConfig
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_not_exception_type,
    wait_exponential_jitter,
)

from oms.codec import DataKeys, EnvelopeCodec, kms_client
from oms.config import Settings, SettingsError

log = logging.getLogger("oms.temporal_client")

DEFAULT_ADDRESS = "localhost:7233"
# Powertools caches the secret this long per process: a Lambda's warm invocations (and a
# process that connects again) do not call Secrets Manager, yet a rotated key is picked up
# within 15 minutes even by a long-lived process (docs/GITHUB_OIDC.md, rotation).
SECRET_MAX_AGE_SECONDS = 900


def connect_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `Client.connect`, from envconfig plus the optional secret."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if settings.temporal_secret_arn:
        config.update(_credentials_from_secret(settings.temporal_secret_arn))
    return config


def _credentials_from_secret(secret_id: str) -> dict[str, Any]:
    # Powertools' parameters utility: GetSecretValue through its cached provider.
    raw = get_secret(secret_id, max_age=SECRET_MAX_AGE_SECONDS)
    try:
        secret = json.loads(raw) if isinstance(raw, str | bytes) else None
    except json.JSONDecodeError:
        secret = None
    if not isinstance(secret, dict):
        raise SettingsError("OMS_TEMPORAL_SECRET_ARN: the secret is not a JSON object")
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


async def connect_with_backoff(
    settings: Settings,
    *,
    first: float = 1.0,
    most: float = 30.0,
    attempt: Callable[[Settings], Awaitable[Client]] | None = None,
) -> Client:
    """Connect, retrying for as long as it takes (the caller cancels, e.g. on SIGTERM):
    exponential backoff with jitter from `first` to `most` seconds. A worker started during a
    Temporal outage waits it out instead of exiting and being restarted in a loop. A wrong
    setting (`SettingsError`) is not retried: it fails at start-up, naming the setting."""
    connect_once = attempt or connect
    retrying = AsyncRetrying(
        retry=retry_if_not_exception_type((SettingsError, asyncio.CancelledError)),
        wait=wait_exponential_jitter(multiplier=first, max=most),
        before_sleep=_log_retry,
        reraise=True,
    )
    client: Client = await retrying(connect_once, settings)
    return client


def _log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    reason = outcome.exception() if outcome is not None else None
    delay = state.next_action.sleep if state.next_action else 0
    log.warning(
        "connecting to Temporal failed (attempt %d, next in %.0f s): %s",
        state.attempt_number,
        delay,
        reason,
    )


async def connect(
    settings: Settings, *, lazy: bool = False, converter: DataConverter | None = None
) -> Client:
    config = connect_config(settings)
    return await Client.connect(
        **config, data_converter=converter or data_converter(settings), lazy=lazy
    )
