"""Payload encryption: the KMS envelope codec and Temporal's remote codec
server. Search attributes, memo keys, workflow ids and headers are never encrypted: they must
carry no personal data."""

from oms.codec.envelope import EnvelopeCodec
from oms.codec.keys import (
    DataKeys,
    PayloadDecryptionError,
    PayloadKeyUnavailable,
    ensure_payload_key,
    kms_client,
)

__all__ = [
    "DataKeys",
    "EnvelopeCodec",
    "PayloadDecryptionError",
    "PayloadKeyUnavailable",
    "ensure_payload_key",
    "kms_client",
]
