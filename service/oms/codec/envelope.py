"""The payload codec: every payload written to Temporal is sealed with AES-256-GCM under a data
key from KMS (envelope encryption); the encrypted data key and the KMS key id travel in the
payload's metadata, so any holder of kms:Decrypt on that key can open it, also after the key id
in the settings changed (rotation to a new key).

Encoded payload:
  metadata  encoding=binary/encrypted, encryption-cipher=AES256-GCM,
            encryption-key-id=<KMS key ARN>, encryption-data-key=<encrypted data key>
  data      12-byte random nonce || AES-GCM(serialized original Payload) with its 16-byte tag

Payloads without `encoding: binary/encrypted` (written before encryption was turned on, or by
a tool without the codec) pass through decode unchanged.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from oms.codec.keys import DataKey, DataKeys, PayloadDecryptionError

ENCODING = b"binary/encrypted"
CIPHER = b"AES256-GCM"
ENCODING_KEY = "encoding"
CIPHER_KEY = "encryption-cipher"
KEY_ID_KEY = "encryption-key-id"
DATA_KEY_KEY = "encryption-data-key"
NONCE_BYTES = 12
# Authenticated with every payload: a ciphertext of another format or version never opens.
_AAD = b"oms/temporal-payload/v1"


class EnvelopeCodec(PayloadCodec):
    def __init__(self, keys: DataKeys) -> None:
        super().__init__()
        self.keys = keys

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if not payloads:
            return []
        key = self.keys.cached_for_encryption(len(payloads))
        if key is None:  # KMS is blocking I/O: keep it off the event loop
            key = await asyncio.to_thread(self.keys.for_encryption, len(payloads))
        return [_seal(key, payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get(ENCODING_KEY) != ENCODING:
                decoded.append(payload)
                continue
            key_id, encrypted = _envelope(payload)
            key = self.keys.cached_for_decryption(encrypted)
            if key is None:
                key = await asyncio.to_thread(self.keys.for_decryption, key_id, encrypted)
            decoded.append(_open(key, payload.data))
        return decoded


def _seal(key: DataKey, payload: Payload) -> Payload:
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.aead.encrypt(nonce, payload.SerializeToString(), _AAD)
    return Payload(
        metadata={
            ENCODING_KEY: ENCODING,
            CIPHER_KEY: CIPHER,
            KEY_ID_KEY: key.key_id.encode(),
            DATA_KEY_KEY: key.encrypted,
        },
        data=nonce + sealed,
    )


def _envelope(payload: Payload) -> tuple[str, bytes]:
    cipher = payload.metadata.get(CIPHER_KEY)
    key_id = payload.metadata.get(KEY_ID_KEY)
    encrypted = payload.metadata.get(DATA_KEY_KEY)
    if cipher != CIPHER or not key_id or not encrypted:
        raise PayloadDecryptionError(
            f"encrypted payload of an unknown format (cipher {cipher!r}); "
            "it was not written by this codec"
        )
    return key_id.decode(), encrypted


def _open(key: DataKey, data: bytes) -> Payload:
    try:
        plain = key.aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _AAD)
    except InvalidTag:
        raise PayloadDecryptionError(
            "payload failed authentication: tampered, truncated or sealed with another key"
        ) from None
    return Payload.FromString(plain)
