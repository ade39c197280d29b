"""The local AWS emulator: moto in server mode, with DynamoDB's isolation guarantee restored.

Real DynamoDB transactions and conditional writes are serializable. moto's server handles
requests on many threads and checks conditions before writing without a lock, so two
concurrent transactions can both pass `available >= :q` and oversell. Holding one lock around
moto's DynamoDB operations makes each of them atomic, as in AWS.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import threading
from typing import Any

import typer
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.ses.models import ses_backends
from werkzeug.serving import make_server

from oms.local.fast_dynamodb import LOCK, make_transactions_flat
from oms.local.fast_sqs import make_sqs_flat
from oms.local.faults import FaultInjector
from oms.local.moto import SENT_EMAILS_PATH

_OPERATIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "transact_get_items",
    "query",
    "scan",
    "batch_write_item",
    "batch_get_item",
)


def make_dynamodb_serializable() -> None:
    """Patch moto's DynamoDB backend once per process (idempotent)."""
    if getattr(DynamoDBBackend, "_oms_serializable", False):
        return
    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        @functools.wraps(original)
        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with LOCK:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend._oms_serializable = True  # type: ignore[attr-defined]


def sent_emails_document() -> list[dict[str, Any]]:
    """Every message moto's SES (v1 and v2 share the backend) accepted, in every account/region."""
    return [
        {"id": m.id, "subject": getattr(m, "subject", ""), "destinations": m.destinations}
        for regions in ses_backends.values()
        for backend in regions.values()
        for m in backend.sent_messages
    ]


class _WithSentEmails:
    """moto's WSGI app plus `SENT_EMAILS_PATH`."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != SENT_EMAILS_PATH:
            return self._app(environ, start_response)
        body = json.dumps(sent_emails_document()).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


class EmulatorServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        app = FaultInjector(_WithSentEmails(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def start_emulator(host: str = "127.0.0.1", port: int = 0) -> ThreadedMotoServer:
    """Start moto's server in a thread of this process; `get_host_and_port()` tells the port."""
    make_dynamodb_serializable()
    make_sqs_flat()
    make_transactions_flat()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = EmulatorServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def serve(host: str = "127.0.0.1", port: int = 4566) -> None:
    """`python -m oms.local.emulator --port N`: serve until SIGTERM/SIGINT (the local stack's
    AWS endpoint, in its own process so it does not compete with the CLI for the GIL)."""
    server = start_emulator(host, port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    os._exit(0)


def main() -> None:
    typer.run(serve)


if __name__ == "__main__":
    main()
