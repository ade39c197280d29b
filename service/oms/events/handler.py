"""The events queue's batch handler: SQS-shaped events in (Lambda's event source locally through
`oms intake`'s bridge), a partial batch response out. Records of a batch go concurrently; one
that raises is reported alone and SQS delivers it again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from oms.events.router import EventRouter
from oms.intake.records import Message
from oms.loop_thread import LoopThread

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def events_handler(router: EventRouter, loop: LoopThread) -> Handler:
    async def batch(records: list[dict[str, Any]]) -> list[BaseException | object]:
        return await asyncio.gather(
            *(
                router.route_event(Message(message_id=r["messageId"], body=r["body"]))
                for r in records
            ),
            return_exceptions=True,
        )

    def handle(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        records = event.get("Records", [])
        results = loop.run_sync(batch(records))
        failed = [
            {"itemIdentifier": r["messageId"]}
            for r, result in zip(records, results, strict=True)
            if isinstance(result, BaseException)
        ]
        return {"batchItemFailures": failed}

    return handle
