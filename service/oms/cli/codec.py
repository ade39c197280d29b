"""`oms codec-server`: Temporal's remote codec endpoint, for the Temporal UI and CLI."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated

import typer

from oms.cli.app import app, err_console
from oms.cli.errors import CliError
from oms.config import load_settings
from oms.logs import configure_logging

DEFAULT_PORT = 8081


class Auth(StrEnum):
    token = "token"  # noqa: S105 - the option's name, not a secret
    none = "none"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command("codec-server")
def codec_server(  # noqa: PLR0917 - typer: one parameter per option
    host: Annotated[
        str, typer.Option(help="address to listen on (keep it local: it decrypts for anyone)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = DEFAULT_PORT,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="origin of a Temporal UI allowed to call it, e.g. https://cloud.temporal.io "
            "or http://localhost:8233 (repeat for several)"
        ),
    ] = None,
    auth: Annotated[
        Auth,
        typer.Option(
            help="token: every POST needs `Authorization: Bearer $OMS_CODEC_SERVER_TOKEN`; "
            "none: no authentication (loopback addresses only, e.g. `oms dev`)"
        ),
    ] = Auth.token,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Host header value accepted besides the listen address, e.g. "
            "codec.internal.example:443 behind a proxy (repeat for several)"
        ),
    ] = None,
    enable_encode: Annotated[
        bool, typer.Option(help="also serve POST /encode (off: it lets callers forge payloads)")
    ] = False,
) -> None:
    """Serve `POST /encode` and `POST /decode` (Temporal's remote codec protocol) with the
    payload key `OMS_PAYLOAD_KEY_ID`, using this shell's AWS credentials to reach KMS. Point
    the UI's codec endpoint (or `TEMPORAL_CODEC_ENDPOINT` for the CLI) at it."""
    try:
        from aiohttp import web
    except ImportError:
        raise CliError("the codec server needs aiohttp: pip install 'oms[local]'") from None

    from oms.codec import DataKeys, EnvelopeCodec, kms_client
    from oms.codec.server import Access, build_app, configured_token, listen_hosts

    settings = load_settings()
    if not settings.payload_key_id:
        raise CliError(
            "OMS_PAYLOAD_KEY_ID is not set: the codec server needs the payload key "
            "(a KMS key id, ARN or alias/...)",
            exit_code=2,
        )
    token = configured_token(settings.codec_server_token)
    if auth is Auth.token and not token:
        raise CliError(
            "OMS_CODEC_SERVER_TOKEN is not set: set a long random token (callers send it as "
            "`Authorization: Bearer ...`), or pass --auth none on a loopback address",
            exit_code=2,
        )
    if auth is Auth.none and not _loopback(host):
        raise CliError(
            f"--auth none only on a loopback address, not {host}: it decrypts for anyone "
            "who reaches it",
            exit_code=2,
        )
    access = Access(
        hosts=listen_hosts(host, port) | frozenset(allowed_host or ()),
        token=token if auth is Auth.token else None,
        encode=enable_encode,
    )
    configure_logging(settings, service="oms-codec-server")
    codec = EnvelopeCodec(DataKeys(kms_client(), settings.payload_key_id))
    origins = cors_origin or []
    err_console.print(
        f"codec server on http://{host}:{port} (key {settings.payload_key_id}; "
        f"CORS: {', '.join(origins) or 'none'}; auth: {auth.value}; "
        f"/encode: {'on' if enable_encode else 'off'})",
        highlight=False,
    )
    try:
        web.run_app(build_app(codec, origins, access=access), host=host, port=port, print=None)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
