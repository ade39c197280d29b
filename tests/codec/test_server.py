"""`oms codec-server`'s HTTP contract: Temporal's remote codec protocol, CORS, refusals."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.contrib.pydantic import pydantic_data_converter

from oms.codec import EnvelopeCodec
from oms.codec.server import Access, build_app, listen_hosts

UI = "http://localhost:8233"
NAMESPACE = {"X-Namespace": "default"}


TOKEN = "a-long-random-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def serve(codec: EnvelopeCodec, *, token: str | None = TOKEN, encode: bool = True) -> Any:
    port = free_port()
    access = Access(hosts=listen_hosts("127.0.0.1", port), token=token, encode=encode)
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_app(codec, [UI], access=access), host="127.0.0.1", port=port),
        headers=AUTH,
    )
    await client.start_server()
    return client


@pytest.fixture
async def http(codec: EnvelopeCodec) -> AsyncIterator[TestClient[Any, Any]]:
    client = await serve(codec)
    yield client
    await client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


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


async def test_a_post_from_another_origin_is_refused_even_with_the_token(
    http: TestClient[Any, Any],
) -> None:
    post = await http.post("/decode", json=body(1), headers={"Origin": "https://evil.example"})
    assert post.status == 403
    assert "origin" in (await post.json())["error"]
    assert "Access-Control-Allow-Origin" not in post.headers


@pytest.mark.parametrize(
    "host", ["evil.example:8081", "rebind.attacker.example", "127.0.0.1:1", "10.0.0.5:8081"]
)
async def test_a_foreign_host_header_is_refused_dns_rebinding(
    http: TestClient[Any, Any], host: str
) -> None:
    """A page on attacker.example whose name re-resolves to 127.0.0.1 sends its own name as
    Host: refused before anything is decrypted."""
    answer = await http.post("/decode", json=body(1), headers={"Host": host})
    assert answer.status == 403
    assert "Host" in (await answer.json())["error"]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
async def test_decode_without_the_right_bearer_token_is_refused(
    codec: EnvelopeCodec, authorization: str | None
) -> None:
    client = await serve(codec)
    try:
        headers = {} if authorization is None else {"Authorization": authorization}
        # A fresh session without the default header: only what the parameter says.
        async with aiohttp.ClientSession() as session:
            async with session.post(
                client.make_url("/decode"), json=body("secret"), headers=headers
            ) as answer:
                assert answer.status == 401
                assert answer.headers["WWW-Authenticate"] == "Bearer"
                assert "secret" not in await answer.text()
    finally:
        await client.close()


async def test_encode_is_off_unless_enabled(codec: EnvelopeCodec) -> None:
    client = await serve(codec, encode=False)
    try:
        answer = await client.post("/encode", json=body("forged"))
        assert answer.status == 403
        assert "--enable-encode" in (await answer.json())["error"]
        assert (await client.post("/decode", json=body(1))).status == 200  # decode still works
    finally:
        await client.close()


async def test_without_a_token_the_host_and_origin_checks_still_hold(
    codec: EnvelopeCodec,
) -> None:
    client = await serve(codec, token=None)
    try:
        assert (
            await client.post("/decode", json=body(1), headers={"Authorization": ""})
        ).status == 200
        assert (
            await client.post("/decode", json=body(1), headers={"Host": "evil:1"})
        ).status == 403
        stranger = {"Origin": "https://evil.example"}
        assert (await client.post("/decode", json=body(1), headers=stranger)).status == 403
    finally:
        await client.close()


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


@pytest.mark.parametrize(
    ("arguments", "token", "says"),
    [
        ([], None, "OMS_CODEC_SERVER_TOKEN is not set"),
        (["--auth", "none", "--host", "0.0.0.0"], None, "only on a loopback address"),
        (["--auth", "none", "--host", "10.1.2.3"], "t" * 32, "only on a loopback address"),
    ],
)
def test_the_command_refuses_to_serve_without_authentication_off_loopback(
    arguments: list[str], token: str | None, says: str
) -> None:
    env = {**os.environ, "OMS_PAYLOAD_KEY_ID": "alias/oms-payloads", "AWS_REGION": "eu-west-1"}
    env.pop("OMS_CODEC_SERVER_TOKEN", None)
    if token:
        env["OMS_CODEC_SERVER_TOKEN"] = token
    result = subprocess.run(
        [sys.executable, "-m", "oms", "codec-server", "--port", str(free_port()), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr
