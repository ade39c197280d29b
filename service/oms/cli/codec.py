"""`oms codec-server`: Temporal's remote codec endpoint, for the Temporal UI and CLI."""

from __future__ import annotations

from typing import Annotated

import typer

from oms.cli.app import app, err_console
from oms.cli.errors import CliError
from oms.config import load_settings
from oms.logs import configure_logging

DEFAULT_PORT = 8081


@app.command("codec-server")
def codec_server(
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
) -> None:
    """Serve `POST /encode` and `POST /decode` (Temporal's remote codec protocol) with the
    payload key `OMS_PAYLOAD_KEY_ID`, using this shell's AWS credentials to reach KMS. Point
    the UI's codec endpoint (or `TEMPORAL_CODEC_ENDPOINT` for the CLI) at it."""
    try:
        from aiohttp import web
    except ImportError:
        raise CliError("the codec server needs aiohttp: pip install 'oms[local]'") from None

    from oms.codec import DataKeys, EnvelopeCodec, kms_client
    from oms.codec.server import build_app

    settings = load_settings()
    if not settings.payload_key_id:
        raise CliError(
            "OMS_PAYLOAD_KEY_ID is not set: the codec server needs the payload key "
            "(a KMS key id, ARN or alias/...)",
            exit_code=2,
        )
    configure_logging(settings, service="oms-codec-server")
    codec = EnvelopeCodec(DataKeys(kms_client(), settings.payload_key_id))
    origins = cors_origin or []
    err_console.print(
        f"codec server on http://{host}:{port} (key {settings.payload_key_id}; "
        f"CORS: {', '.join(origins) or 'none'})",
        highlight=False,
    )
    try:
        web.run_app(build_app(codec, origins), host=host, port=port, print=None)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
