"""Data keys from AWS KMS for envelope encryption, cached so KMS is not called per payload.

Encryption uses one data key (`GenerateDataKey`, AES-256) until it is `max_age` seconds old or
has sealed `max_uses` payloads, then asks KMS for a fresh one. Decryption asks KMS to decrypt
each distinct encrypted data key once and keeps a bounded number of them for `max_age`. A
process therefore calls KMS about once per `max_age`, not once per payload.

Every KMS failure except "this ciphertext is not ours" is `PayloadKeyUnavailable`: an outage,
throttling or a missing grant is fixed outside the process, so the caller retries (Temporal
retries the workflow task or activity; the starter fails the SQS record, which SQS redelivers).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Bound to every data key: an IAM policy can require it, and a data key generated for another
# purpose does not decrypt here (KMS checks it on Decrypt).
ENCRYPTION_CONTEXT = {"purpose": "oms-temporal-payload"}
MAX_KEY_AGE_SECONDS = 300.0
# Random 96-bit nonces stay safe far beyond this (NIST: 2**32 messages per key).
MAX_KEY_USES = 100_000
MAX_DECRYPTED_KEYS = 1_000
# The KMS errors that mean "this data key is not a valid ciphertext for that key".
_NOT_OURS = {"InvalidCiphertextException", "IncorrectKeyException"}


class PayloadKeyUnavailable(RuntimeError):  # noqa: N818 - reads as a state, like TimeoutError
    """KMS could not give a data key right now (outage, throttling, missing grant): retryable."""


class PayloadDecryptionError(ValueError):
    """A payload that cannot be decrypted: tampered, truncated, or not encrypted by us."""


@dataclass
class DataKey:
    key_id: str  # the KMS key's ARN, as KMS reports it
    encrypted: bytes  # the data key encrypted under the KMS key (stored in every payload)
    aead: AESGCM = field(repr=False)
    created: float
    uses: int = 0


def kms_client() -> Any:
    """A KMS client following boto3's conventions (AWS_ENDPOINT_URL, AWS_REGION), failing fast:
    the codec runs on the caller's path, and a retry one level up (Temporal, SQS) is cheaper
    than a worker task stuck in botocore's backoff."""
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
    config = Config(
        connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 2}
    )
    return session.client("kms", config=config)


class DataKeys:
    """Thread-safe: the worker encodes on its event loop and in threads at the same time."""

    def __init__(
        self,
        kms: Any,
        key_id: str,
        *,
        max_age: float = MAX_KEY_AGE_SECONDS,
        max_uses: int = MAX_KEY_USES,
        max_decrypted: int = MAX_DECRYPTED_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key_id = key_id
        self._kms = kms
        self._max_age = max_age
        self._max_uses = max_uses
        self._max_decrypted = max_decrypted
        self._clock = clock
        self._lock = threading.Lock()  # guards the caches (held briefly, never across KMS)
        self._kms_lock = threading.Lock()  # one GenerateDataKey at a time, not one per caller
        self._current: DataKey | None = None
        self._decrypted: OrderedDict[bytes, DataKey] = OrderedDict()

    # -- encryption ---------------------------------------------------------------------------

    def cached_for_encryption(self, uses: int) -> DataKey | None:
        """The current data key with `uses` reserved, or None if a new one is needed."""
        with self._lock:
            key = self._current
            if key is None or not self._fresh(key) or key.uses + uses > self._max_uses:
                return None
            key.uses += uses
            return key

    def for_encryption(self, uses: int) -> DataKey:
        """Blocking: the current data key, or a new one from KMS."""
        with self._kms_lock:
            key = self.cached_for_encryption(uses)
            if key is not None:  # another caller refreshed it while we waited
                return key
            key = self._generate()
            key.uses = uses
            with self._lock:
                self._current = key
                self._remember(key)  # our own payloads decrypt without a KMS call
            return key

    def _generate(self) -> DataKey:
        try:
            response = self._kms.generate_data_key(
                KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=ENCRYPTION_CONTEXT
            )
        except (ClientError, BotoCoreError) as exc:
            raise PayloadKeyUnavailable(f"KMS GenerateDataKey failed: {_describe(exc)}") from exc
        return DataKey(
            key_id=response["KeyId"],
            encrypted=response["CiphertextBlob"],
            aead=AESGCM(response["Plaintext"]),
            created=self._clock(),
        )

    # -- decryption ---------------------------------------------------------------------------

    def cached_for_decryption(self, encrypted: bytes) -> DataKey | None:
        with self._lock:
            key = self._decrypted.get(encrypted)
            if key is None or not self._fresh(key):
                return None
            self._decrypted.move_to_end(encrypted)
            return key

    def for_decryption(self, key_id: str, encrypted: bytes) -> DataKey:
        """Blocking: the data key for a payload, from the cache or decrypted by KMS. `key_id` is
        the one recorded in the payload, so payloads sealed before a key change still open."""
        key = self.cached_for_decryption(encrypted)
        if key is not None:
            return key
        try:
            response = self._kms.decrypt(
                CiphertextBlob=encrypted, KeyId=key_id, EncryptionContext=ENCRYPTION_CONTEXT
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_OURS:
                raise PayloadDecryptionError(
                    f"the payload's data key does not decrypt under {key_id}"
                ) from exc
            raise PayloadKeyUnavailable(f"KMS Decrypt failed: {_describe(exc)}") from exc
        except BotoCoreError as exc:
            raise PayloadKeyUnavailable(f"KMS Decrypt failed: {_describe(exc)}") from exc
        key = DataKey(
            key_id=response["KeyId"],
            encrypted=encrypted,
            aead=AESGCM(response["Plaintext"]),
            created=self._clock(),
        )
        with self._lock:
            self._remember(key)
        return key

    def _remember(self, key: DataKey) -> None:
        self._decrypted[key.encrypted] = key
        self._decrypted.move_to_end(key.encrypted)
        while len(self._decrypted) > self._max_decrypted:
            self._decrypted.popitem(last=False)

    def _fresh(self, key: DataKey) -> bool:
        return self._clock() - key.created < self._max_age

    def cached_keys(self) -> int:
        """How many plaintext data keys this process holds (for tests and metrics)."""
        with self._lock:
            return len(self._decrypted)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc)


LOCAL_KEY_ALIAS = "alias/oms-payloads"


def ensure_payload_key(kms: Any, alias: str = LOCAL_KEY_ALIAS) -> str:
    """The ARN of the key behind `alias`, created (with rotation on) if missing. For the local
    stack's emulator and throwaway accounts; in AWS the CDK stack owns the key."""
    try:
        arn: str = kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
    except kms.exceptions.NotFoundException:
        arn = kms.create_key(Description="OMS: envelope encryption of Temporal payloads")[
            "KeyMetadata"
        ]["Arn"]
        kms.enable_key_rotation(KeyId=arn)
        kms.create_alias(AliasName=alias, TargetKeyId=arn)
    return arn
