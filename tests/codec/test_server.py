"""`oms codec-server`'s HTTP contract: Temporal's remote codec protocol, CORS, refusals."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.contrib.pydantic import pydantic_data_converter

from oms.codec import EnvelopeCodec
from oms.codec.server import build_app

UI = "http://localhost:8233"
NAMESPACE = {"X-Namespace": "default"}


@pytest.fixture
async def http(codec: EnvelopeCodec) -> AsyncIterator[TestClient[Any, Any]]:
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(codec, [UI])))
    await client.start_server()
    yield client
    await client.close()


def body(*values: Any) -> dict[str, Any]:
    payloads = Payloads(payloads=pydantic_data_converter.payload_converter.to_payloads(values))
    document: dict[str, Any] = json_format.MessageToDict(payloads)
    return document


async def test_encode_then_decode_round_trips_as_the_ui_sends_it(
    http: TestClient[Any, Any],
) -> None:
    plain = body({"customer": {"name": "Ada Lovelace"}})

    encoded = await http.post("/encode", json=plain, headers=NAMESPACE)
    assert encoded.status == 200
    sealed = await encoded.json()
    [payload] = sealed["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"
    assert b"Ada" not in base64.b64decode(payload["data"])

    decoded = await http.post("/decode", json=sealed, headers=NAMESPACE)
    assert decoded.status == 200
    assert await decoded.json() == plain


async def test_the_ui_origin_gets_cors_headers_and_others_do_not(
    http: TestClient[Any, Any],
) -> None:
    preflight = await http.options(
        "/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == UI
    assert "x-namespace" in preflight.headers["Access-Control-Allow-Headers"].lower()

    answer = await http.post("/decode", json=body(1), headers={"Origin": UI, **NAMESPACE})
    assert answer.headers["Access-Control-Allow-Origin"] == UI

    stranger = await http.options("/decode", headers={"Origin": "https://evil.example"})
    assert stranger.status == 403
    assert "Access-Control-Allow-Origin" not in stranger.headers
    post = await http.post("/decode", json=body(1), headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in post.headers


@pytest.mark.parametrize(
    ("method", "path", "data", "headers", "status"),
    [
        ("GET", "/decode", None, {}, 405),
        ("PUT", "/encode", b"{}", {"Content-Type": "application/json"}, 405),
        ("POST", "/", b"{}", {"Content-Type": "application/json"}, 404),
        ("POST", "/api/v1/namespaces", b"{}", {"Content-Type": "application/json"}, 404),
        ("POST", "/decode", b"payloads", {"Content-Type": "text/plain"}, 415),
        ("POST", "/decode", b"{not json", {"Content-Type": "application/json"}, 400),
        ("POST", "/decode", b'{"payloads": 3}', {"Content-Type": "application/json"}, 400),
    ],
)
async def test_anything_else_is_refused_with_a_clear_error(
    http: TestClient[Any, Any],
    method: str,
    path: str,
    data: bytes | None,
    headers: dict[str, str],
    status: int,
) -> None:
    answer = await http.request(method, path, data=data, headers=headers)

    assert answer.status == status
    assert (await answer.json())["error"]


async def test_an_undecryptable_payload_is_422_not_a_crash(http: TestClient[Any, Any]) -> None:
    sealed = await (await http.post("/encode", json=body("x"))).json()
    data = bytearray(base64.b64decode(sealed["payloads"][0]["data"]))
    data[-1] ^= 1
    sealed["payloads"][0]["data"] = base64.b64encode(bytes(data)).decode()

    answer = await http.post(
        "/decode", data=json.dumps(sealed), headers=NAMESPACE | {"Content-Type": "application/json"}
    )

    assert answer.status == 422
    assert "authentication" in (await answer.json())["error"]
