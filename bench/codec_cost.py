"""`python -m bench.codec_cost`: CPU and size cost of payload encryption per order.

KMS is moto in-process (`mock_aws`); with data keys cached, KMS is called once per run, so the
numbers are the cipher and protobuf work a worker does per payload. With the AWS Encryption SDK
importable (not a dependency: `pip install aws-encryption-sdk`), it is measured the same way
with its caching materials manager, for the comparison in the README.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from oms.codec import DataKeys, EnvelopeCodec
from oms.codec.keys import ENCRYPTION_CONTEXT
from oms.local.demo_orders import order_body
from oms.orders.models import parse_order
from oms.orders.payloads import OrderInput

ROUNDS = 3000
ROOT = Path(__file__).resolve().parents[1]
HAPPY_HISTORY = ROOT / "tests" / "workflows" / "histories" / "happy.json"
LATEST = ROOT / "bench" / "results" / "latest.json"


def payloads_per_order(history: Path = HAPPY_HISTORY) -> int:
    """Payloads the codec sees in a recorded happy-path order's history: input, activity inputs
    and results, the result (search attributes are never encoded). The worker encodes the ones
    it writes and decodes each once (sticky cache)."""
    count = 0

    def walk(node: Any) -> None:
        nonlocal count
        if isinstance(node, dict):
            node = {k: v for k, v in node.items() if k != "searchAttributes"}
            if "data" in node and "metadata" in node:
                count += 1
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(history.read_text()))
    return count


def worker_cpu_ms_per_order(results: Path = LATEST) -> float | None:
    """The product worker's CPU per order in the last `make bench` (largest size), if any."""
    try:
        runs = json.loads(results.read_text())["runs"]
        return float(runs[-1]["product"]["cpu_ms_per_order"]["worker"])
    except (OSError, KeyError, IndexError, ValueError):
        return None


def cpu_us(fn: Callable[[], Any], rounds: int = ROUNDS) -> float:
    fn()  # warm up (and fetch the data key)
    start = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - start) / rounds * 1e6


def sample_payloads() -> dict[str, Payload]:
    order = OrderInput(order=parse_order(json.dumps(order_body("ORD-BENCH-1"))))
    converter = pydantic_data_converter.payload_converter
    return {"order input": converter.to_payload(order), "small result": converter.to_payload(
        {"orderId": "ORD-BENCH-1", "packageId": "PKG-0123456789"}
    )}  # fmt: skip


def measure_codec(kms: Any, key_arn: str) -> list[dict[str, Any]]:
    codec = EnvelopeCodec(DataKeys(kms, key_arn))
    loop = asyncio.new_event_loop()
    rows = []
    for name, payload in sample_payloads().items():
        [sealed] = loop.run_until_complete(codec.encode([payload]))
        rows.append({
            "library": "cryptography AESGCM + KMS data keys (oms.codec)",
            "payload": name,
            "plain_bytes": payload.ByteSize(),
            "encrypted_bytes": sealed.ByteSize(),
            "encode_us": cpu_us(lambda p=payload: loop.run_until_complete(codec.encode([p]))),
            "decode_us": cpu_us(lambda s=sealed: loop.run_until_complete(codec.decode([s]))),
        })  # fmt: skip
    loop.close()
    return rows


def measure_esdk(key_arn: str, *, signing: bool) -> list[dict[str, Any]]:
    import aws_encryption_sdk  # noqa: PLC0415 - optional, for the comparison only
    from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy  # noqa: PLC0415

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn])
    cmm = aws_encryption_sdk.CachingCryptoMaterialsManager(
        master_key_provider=provider,
        cache=aws_encryption_sdk.LocalCryptoMaterialsCache(100),
        max_age=300.0,
        max_messages_encrypted=100_000,
    )
    algorithm = (
        Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
        if signing
        else Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    )

    def encrypt(data: bytes) -> bytes:
        sealed, _ = client.encrypt(
            source=data, materials_manager=cmm, encryption_context=ENCRYPTION_CONTEXT,
            algorithm=algorithm,
        )  # fmt: skip
        return bytes(sealed)

    rows = []
    for name, payload in sample_payloads().items():
        data = payload.SerializeToString()
        sealed = encrypt(data)
        rows.append({
            "library": f"AWS Encryption SDK 4, caching CMM, {algorithm.name}",
            "payload": name,
            "plain_bytes": payload.ByteSize(),
            # + the metadata a payload would need ("encoding"): about 30 bytes
            "encrypted_bytes": len(sealed) + 30,
            "encode_us": cpu_us(lambda d=data: encrypt(d), rounds=ROUNDS // 10),
            "decode_us": cpu_us(
                lambda s=sealed: client.decrypt(source=s, materials_manager=cmm),
                rounds=ROUNDS // 10,
            ),
        })  # fmt: skip
    return rows


def main() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        key_arn = kms.create_key()["KeyMetadata"]["Arn"]
        rows = measure_codec(kms, key_arn)
        try:
            rows += measure_esdk(key_arn, signing=False) + measure_esdk(key_arn, signing=True)
        except ImportError:
            print("(aws-encryption-sdk not installed: comparison skipped)")
    for row in rows:
        print(
            f"{row['library'][:70]:<70} {row['payload']:<13} "
            f"{row['plain_bytes']:>5} -> {row['encrypted_bytes']:>5} B  "
            f"encode {row['encode_us']:7.1f} us  decode {row['decode_us']:7.1f} us"
        )
    ours = [r for r in rows if r["library"].startswith("cryptography")]
    per_payload = sum(r["encode_us"] + r["decode_us"] for r in ours) / len(ours)
    payloads = payloads_per_order()
    per_order_ms = per_payload * payloads / 1000
    worker_ms = worker_cpu_ms_per_order()
    share = (
        f" = {per_order_ms / worker_ms:.1%} of the worker's {worker_ms:.0f} ms per order "
        f"({LATEST.relative_to(ROOT)})"
        if worker_ms
        else ""
    )
    print(f"per order ({payloads} payloads encoded + decoded): {per_order_ms:.2f} ms CPU{share}")


if __name__ == "__main__":
    main()
