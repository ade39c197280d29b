"""Temporal's remote codec protocol over HTTP (aiohttp), so the Temporal UI and CLI show readable
payloads to people allowed to call KMS with their own credentials.

- `POST /encode`, `POST /decode`: body and answer `{"payloads": [...]}` in protobuf JSON
  (`temporal.api.common.v1.Payloads`); `X-Namespace` names the caller's namespace (logged;
  one key serves every namespace).
- Who may call (it decrypts customers' data, so every refusal is checked by a test):
  - `Host` must be one of the allowed hosts (the listen address by default): a page on
    another site cannot reach it through DNS rebinding (its Host would be the site's name);
  - a request with an `Origin` must come from an allowed origin (the UI's); CORS headers go
    to those only, preflight included;
  - with a token, `Authorization: Bearer <token>` on every POST (the Temporal CLI sends it
    from `TEMPORAL_CODEC_AUTH`); without one (`--auth none`) only on a loopback address;
  - `/encode` is off unless enabled: it would let a caller forge encrypted payloads.
- Anything else is refused with a one-line JSON error: unknown path 404, other method 405,
  not JSON 415, malformed body 400, too large 413, KMS unreachable 503, undecryptable 422,
  wrong Host/Origin or /encode disabled 403, no or wrong token 401.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aiohttp import hdrs, web
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from oms.codec.keys import PayloadDecryptionError, PayloadKeyUnavailable

log = logging.getLogger("oms.codec.server")

NAMESPACE_HEADER = "X-Namespace"
# Temporal's limit is 2 MiB per payload; the UI sends a workflow's payloads in one request.
MAX_BODY_BYTES = 16 * 1024 * 1024
_ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"
_ROUTES = ("/encode", "/decode")

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@dataclass(frozen=True)
class Access:
    """Who may call: the allowed Host values, the bearer token (None: no authentication, only
    for a loopback listener, as `oms codec-server` enforces) and whether /encode is served."""

    hosts: frozenset[str]
    token: str | None = field(default=None, repr=False)
    encode: bool = False

    def authorized(self, header: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, presented = (header or "").partition(" ")
        # Constant-time: the comparison must not leak how much of a guess was right.
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), self.token.encode()
        )


def configured_token(secret: SecretStr | None) -> str:
    """The token `OMS_CODEC_SERVER_TOKEN` holds, or "" when unset."""
    return secret.get_secret_value() if secret is not None else ""


def listen_hosts(host: str, port: int) -> frozenset[str]:
    """The Host values a client of `host:port` sends (loopback names are interchangeable)."""
    names = {host}
    if host in ("127.0.0.1", "localhost", "::1", "[::1]"):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    return frozenset(f"{name}:{port}" for name in names)


def build_app(
    codec: PayloadCodec, cors_origins: Iterable[str] = (), *, access: Access
) -> web.Application:
    origins = frozenset(o.rstrip("/") for o in cors_origins)

    @web.middleware
    async def cors_and_refusals(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        if request.host not in access.hosts:
            # DNS rebinding: the browser thinks it talks to the attacker's name.
            return _error(403, f"Host {request.host!r} not allowed")
        if origin is not None and origin not in origins:
            return _error(403, f"origin {origin!r} not allowed (--cors-origin)")
        if request.path not in _ROUTES:
            return _error(404, f"no such endpoint {request.path}; use POST /encode or /decode")
        if request.method == hdrs.METH_POST and not access.authorized(
            request.headers.get(hdrs.AUTHORIZATION)
        ):
            response: web.StreamResponse = _error(401, "missing or wrong bearer token")
            response.headers[hdrs.WWW_AUTHENTICATE] = "Bearer"
        elif request.path == "/encode" and not access.encode:
            response = _error(403, "/encode is disabled (--enable-encode)")
        elif request.method == hdrs.METH_OPTIONS:
            response = web.Response(status=204 if origin in origins else 403)
        elif request.method != hdrs.METH_POST:
            response = _error(405, f"{request.method} not allowed; use POST")
            response.headers[hdrs.ALLOW] = "POST, OPTIONS"
        else:
            response = await handler(request)
        if origin in origins:
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = "POST, OPTIONS"
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = _ALLOWED_HEADERS
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
        response.headers[hdrs.VARY] = "Origin"
        return response

    def endpoint(transform: Transform, action: str) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            if request.content_type != "application/json":
                return _error(415, "send Content-Type: application/json")
            try:
                body = await request.read()
                payloads = json_format.Parse(body, Payloads())
            except web.HTTPRequestEntityTooLarge:
                return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
            except (json_format.ParseError, UnicodeDecodeError) as exc:
                return _error(400, f'body is not {{"payloads": [...]}}: {exc}')
            try:
                result = await transform(payloads.payloads)
            except PayloadKeyUnavailable as exc:
                log.warning("%s failed: %s", action, exc)
                return _error(503, str(exc))
            except PayloadDecryptionError as exc:
                return _error(422, str(exc))
            log.info(
                "%s %d payload(s) for namespace %s",
                action,
                len(result),
                request.headers.get(NAMESPACE_HEADER, "-"),
            )
            return web.json_response(
                text=json_format.MessageToJson(Payloads(payloads=result), indent=None)
            )

        return handle

    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[cors_and_refusals])
    app.router.add_post("/encode", endpoint(codec.encode, "encode"))
    app.router.add_post("/decode", endpoint(codec.decode, "decode"))
    return app
