"""The Temporal UI of `oms dev`, with each order's outcome visible in the workflow list.

Orders end their workflows normally whatever their outcome (a declined payment is a business
result, not a workflow failure), so the UI's Status column shows every finished order as a
green "Completed". The outcome is the `OrderStatus` search attribute; the UI shows it as a
column once a viewer adds it, and keeps each viewer's columns in the browser (localStorage),
never on the server. So `oms dev` serves the dev server's UI through this proxy, which changes
one thing: every HTML page first sets a default column set that includes `OrderStatus` for the
viewer who has not chosen columns yet. A viewer's own choice is never overwritten, and the
proxy passes everything else through unchanged.

`python -m oms.local.ui_proxy --port P --upstream http://127.0.0.1:U` (a child of `oms dev`).
"""

from __future__ import annotations

import json
import os
import re
import signal
from typing import Annotated

import typer
from aiohttp import ClientSession, ClientTimeout, web

from oms.orders.contract import ORDER_STATUS_ATTRIBUTE

NAMESPACE = "default"
# The UI's own localStorage key and shape for the workflow list's columns (UI 2.54).
COLUMNS_KEY = "namespace-workflow-table-columns"
COLUMNS = ["Status", "Workflow ID", ORDER_STATUS_ATTRIBUTE, "Type", "Start", "End"]
# Not forwarded: connection-level headers, and the body's encoding (bodies are re-encoded).
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailers", "transfer-encoding", "upgrade", "content-length", "content-encoding",
        "host"}  # fmt: skip
_HEAD = re.compile(rb"<head[^>]*>", re.IGNORECASE)


def seed_script() -> bytes:
    """Runs before the UI's own scripts (and before its CSP meta tag, which governs only what
    follows it): the default columns, unless the viewer has some."""
    key = json.dumps(COLUMNS_KEY)
    value = json.dumps(json.dumps({NAMESPACE: [{"label": label} for label in COLUMNS]}))
    script = f"if(!localStorage.getItem({key})){{localStorage.setItem({key},{value})}}"
    script = f"try{{{script}}}catch(e){{}}"
    return f"<script>{script}</script>".encode()


def with_seed(page: bytes) -> bytes:
    match = _HEAD.search(page)
    if match is None:
        return page
    return page[: match.end()] + seed_script() + page[match.end() :]


def make_app(upstream: str) -> web.Application:
    async def start(app: web.Application) -> None:
        app["session"] = ClientSession(timeout=ClientTimeout(total=120), auto_decompress=True)

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        session: ClientSession = request.app["session"]
        async with session.request(
            request.method, upstream + request.rel_url.path_qs, headers=headers,
            data=await request.read(), allow_redirects=False,
        ) as answer:  # fmt: skip
            body = await answer.read()
            out = [(k, v) for k, v in answer.headers.items() if k.lower() not in _HOP]
            if answer.headers.get("Content-Type", "").startswith("text/html"):
                body = with_seed(body)
            response = web.Response(status=answer.status, body=body)
            for name, value in out:
                response.headers.add(name, value.replace(upstream, ""))
            return response

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def serve(
    port: Annotated[int, typer.Option()],
    upstream: Annotated[str, typer.Option(help="the dev server's UI, http://host:port")],
    host: str = "127.0.0.1",
) -> None:
    """Serve the Temporal UI through the proxy until SIGTERM."""

    def stop(*_: object) -> None:
        raise web.GracefulExit

    signal.signal(signal.SIGTERM, stop)
    web.run_app(
        make_app(upstream.rstrip("/")), host=host, port=port, print=None, shutdown_timeout=1.0
    )
    os._exit(0)


def main() -> None:
    typer.run(serve)


if __name__ == "__main__":
    main()
