"""KMS keys in the session's moto server, and codecs built on them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from oms.codec import DataKeys, EnvelopeCodec, kms_client


@pytest.fixture(scope="session")
def kms(moto_endpoint: str) -> Any:
    return kms_client()


def new_key(kms: Any) -> str:
    """A fresh symmetric KMS key; its ARN."""
    arn: str = kms.create_key(Description=f"test payload key {uuid.uuid4().hex[:6]}")[
        "KeyMetadata"
    ]["Arn"]
    return arn


@pytest.fixture(scope="session")
def key_arn(kms: Any) -> str:
    return new_key(kms)


@pytest.fixture
def codec(kms: Any, key_arn: str) -> EnvelopeCodec:
    return EnvelopeCodec(DataKeys(kms, key_arn))
