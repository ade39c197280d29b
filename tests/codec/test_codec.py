"""The envelope codec against KMS in the moto server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from oms.codec import (
    DataKeys,
    EnvelopeCodec,
    PayloadDecryptionError,
    PayloadKeyUnavailable,
    ensure_payload_key,
)
from oms.codec.envelope import DATA_KEY_KEY, ENCODING, KEY_ID_KEY
from oms.config import Settings
from oms.local.demo_orders import order_body
from oms.orders.models import parse_order
from oms.orders.payloads import OrderInput
from oms.temporal_client import data_converter

from .conftest import new_key

ORDER = OrderInput(order=parse_order(json.dumps(order_body("ORD-CODEC-1", customer=7))))
PERSONAL = ("Demo Customer 7", "customer7@example.com", "1 Example Street")


class CountingKms:
    """The real (moto) KMS client, counting calls; `down` makes every call fail as in an outage."""

    def __init__(self, kms: Any) -> None:
        self._kms = kms
        self.calls: list[str] = []
        self.down = False

    def _call(self, name: str, **kwargs: Any) -> Any:
        self.calls.append(name)
        if self.down:
            error = {"Error": {"Code": "KMSInternalException", "Message": "outage"}}
            raise ClientError(error, name)  # type: ignore[arg-type]
        return getattr(self._kms, name)(**kwargs)

    def generate_data_key(self, **kwargs: Any) -> Any:
        return self._call("generate_data_key", **kwargs)

    def decrypt(self, **kwargs: Any) -> Any:
        return self._call("decrypt", **kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plain(*values: Any) -> list[Payload]:
    return pydantic_data_converter.payload_converter.to_payloads(list(values))


async def test_round_trip_restores_the_payloads_and_hides_the_customer(
    codec: EnvelopeCodec, key_arn: str
) -> None:
    originals = plain(ORDER, "second")

    encoded = await codec.encode(originals)

    assert len(encoded) == 2
    for payload in encoded:
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID_KEY] == key_arn.encode()
        raw = payload.SerializeToString()
        assert not any(p.encode() in raw for p in PERSONAL)
    assert await codec.decode(encoded) == originals


async def test_the_data_converter_encrypts_values_and_failure_messages(
    kms: Any, key_arn: str
) -> None:
    converter = data_converter(Settings(payload_key_id=key_arn), kms)

    [payload] = await converter.encode([ORDER])
    [decoded] = await converter.decode([payload], [OrderInput])

    assert payload.metadata["encoding"] == ENCODING
    assert decoded == ORDER
    assert converter.failure_converter._encode_common_attributes  # type: ignore[attr-defined]


async def test_payloads_written_without_encryption_still_decode(codec: EnvelopeCodec) -> None:
    # Given payloads written before encryption was on (recorded histories)
    originals = [*plain(ORDER), *plain("a plain string")]

    assert await codec.decode(originals) == originals


@pytest.mark.parametrize("part", ["ciphertext", "nonce", "tag"])
async def test_tampered_ciphertext_is_rejected(codec: EnvelopeCodec, part: str) -> None:
    [payload] = await codec.encode(plain(ORDER))
    data = bytearray(payload.data)
    index = {"nonce": 0, "ciphertext": 40, "tag": len(data) - 1}[part]
    data[index] ^= 0x01
    payload.data = bytes(data)

    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([payload])


async def test_a_tampered_data_key_is_rejected(
    codec: EnvelopeCodec, kms: Any, key_arn: str
) -> None:
    [payload] = await codec.encode(plain(ORDER))
    encrypted = bytearray(payload.metadata[DATA_KEY_KEY])
    encrypted[len(encrypted) // 2] ^= 0x01
    payload.metadata[DATA_KEY_KEY] = bytes(encrypted)

    reader = EnvelopeCodec(DataKeys(kms, key_arn))  # another process: nothing cached
    with pytest.raises(PayloadDecryptionError, match="does not decrypt"):
        await reader.decode([payload])


async def test_old_payloads_decode_after_the_key_id_changes(kms: Any, key_arn: str) -> None:
    # Given payloads sealed under the first key
    old = await EnvelopeCodec(DataKeys(kms, key_arn)).encode(plain(ORDER))
    # When the setting moves to a new key (a fresh process: nothing cached)
    rotated_arn = new_key(kms)
    rotated = EnvelopeCodec(DataKeys(kms, rotated_arn))
    new = await rotated.encode(plain(ORDER))

    # Then new payloads use the new key, and the old ones still open
    assert new[0].metadata[KEY_ID_KEY] == rotated_arn.encode()
    assert await rotated.decode(old) == plain(ORDER)
    assert await rotated.decode(new) == plain(ORDER)


async def test_one_data_key_serves_many_payloads_until_its_age_or_uses_run_out(
    kms: Any, key_arn: str
) -> None:
    counting, clock = CountingKms(kms), Clock()
    codec = EnvelopeCodec(DataKeys(counting, key_arn, max_age=60, max_uses=10, clock=clock))

    first = [await codec.encode(plain(i)) for i in range(10)]
    assert counting.calls == ["generate_data_key"]  # 10 payloads, one KMS call
    assert len({p[0].metadata[DATA_KEY_KEY] for p in first}) == 1

    # Its own payloads decrypt from the cache: no Decrypt call
    assert await codec.decode(first[0]) == plain(0)
    assert "decrypt" not in counting.calls

    await codec.encode(plain(10))  # the 11th use needs a new key
    assert counting.calls == ["generate_data_key"] * 2

    clock.now += 61  # too old
    await codec.encode(plain(11))
    assert counting.calls == ["generate_data_key"] * 3


async def test_decrypted_data_keys_are_cached_within_a_bound(kms: Any, key_arn: str) -> None:
    # Given payloads sealed by 5 different processes (5 data keys)
    sealed = [await EnvelopeCodec(DataKeys(kms, key_arn)).encode(plain(i)) for i in range(5)]
    counting = CountingKms(kms)
    keys = DataKeys(counting, key_arn, max_decrypted=3)
    reader = EnvelopeCodec(keys)

    for payloads in sealed * 2:
        await reader.decode(payloads)

    assert keys.cached_keys() == 3
    # LRU with 3 slots cycling through 5 keys misses every time; a repeat of the newest hits
    assert counting.calls.count("decrypt") == 10
    await reader.decode(sealed[-1])
    assert counting.calls.count("decrypt") == 10


async def test_a_kms_outage_is_a_retryable_error_and_recovers(kms: Any, key_arn: str) -> None:
    counting = CountingKms(kms)
    codec = EnvelopeCodec(DataKeys(counting, key_arn))
    reader_kms = CountingKms(kms)
    reader = EnvelopeCodec(DataKeys(reader_kms, key_arn))

    counting.down = reader_kms.down = True
    with pytest.raises(PayloadKeyUnavailable, match="KMSInternalException"):
        await codec.encode(plain(ORDER))

    counting.down = False  # KMS is back: the same codec works, nothing to restart
    sealed = await codec.encode(plain(ORDER))
    with pytest.raises(PayloadKeyUnavailable):
        await reader.decode(sealed)
    reader_kms.down = False
    assert await reader.decode(sealed) == plain(ORDER)


async def test_kms_unreachable_is_retryable() -> None:
    unreachable = boto3.client(
        "kms",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",  # discard port: connection refused
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    codec = EnvelopeCodec(DataKeys(unreachable, "alias/oms-payloads"))

    with pytest.raises(PayloadKeyUnavailable, match="GenerateDataKey failed"):
        await codec.encode(plain(ORDER))


def test_the_local_payload_key_is_created_once_with_rotation(kms: Any) -> None:
    alias = f"alias/oms-test-{uuid.uuid4().hex[:8]}"

    first = ensure_payload_key(kms, alias)
    again = ensure_payload_key(kms, alias)

    assert first == again
    assert kms.get_key_rotation_status(KeyId=first)["KeyRotationEnabled"] is True
