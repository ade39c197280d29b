"""The emulated carrier of `oms dev --carrier auto`: every shipped parcel gets realistic carrier
events on the events queue, as a real carrier's webhook would put them there.

`python -m oms.local.carrier --step-s S [--silent-share F]` runs it as one of the stack's
processes (restarted by the supervisor like the others). It keeps no state of its own: each
round it lists the running deliveries, asks each what it has received (the `status` query), and
posts the next event of that parcel's plan once `step_s` has passed since the last one. Event
ids are derived from the tracking number and status, so a round that posts an event twice (a
restart, a slow signal) changes nothing: the delivery counts each event id once.

Plans are drawn from the tracking number (the same parcel always gets the same plan): a missed
scan now and then (no IN_TRANSIT, or no OUT_FOR_DELIVERY), and with `silent_share` a parcel
that gets no event at all (the silence timer's "parcel may be lost").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from temporalio.client import Client

from oms.aws import aws_clients
from oms.config import load_settings
from oms.delivery.client import DeliveryClient, carrier_event_body, send_carrier_event
from oms.delivery.contract import CarrierStatus
from oms.logs import configure_logging
from oms.resources import queue_url
from oms.temporal_client import connect

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

    from oms.delivery.payloads import DeliveryStatus

log = logging.getLogger("oms.local.carrier")

JOURNEY: Final = (
    CarrierStatus.IN_TRANSIT,
    CarrierStatus.OUT_FOR_DELIVERY,
    CarrierStatus.DELIVERED,
)
MISSED_SCAN_SHARE: Final = 0.1  # per intermediate scan (real carriers skip scans)
RUNNING_DELIVERIES: Final = "WorkflowType = 'DeliveryWorkflow' AND ExecutionStatus = 'Running'"


def _draw(tracking_number: str, salt: str) -> float:
    """A number in [0, 1) fixed by the tracking number: the same parcel, the same plan."""
    digest = hashlib.sha256(f"{salt}:{tracking_number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def plan_for(tracking_number: str, *, silent_share: float = 0.0) -> tuple[CarrierStatus, ...]:
    """The events this parcel will get, in order (always ending DELIVERED unless silent)."""
    if _draw(tracking_number, "silent") < silent_share:
        return ()
    return tuple(
        status
        for status in JOURNEY
        if status == CarrierStatus.DELIVERED
        or _draw(tracking_number, status.value) >= MISSED_SCAN_SHARE
    )


def event_id_of(tracking_number: str, status: CarrierStatus) -> str:
    return f"emu-{tracking_number}-{status.value}"


def next_event(
    parcel: DeliveryStatus,
    *,
    shipped_at: datetime,
    now: datetime,
    step: timedelta,
    silent_share: float = 0.0,
) -> CarrierStatus | None:
    """The event to post now for `parcel`, or None (not due yet, or its plan is done)."""
    if parcel.finished or parcel.attention:
        return None  # nothing more to say, or a person is on it (reship gives a new number)
    seen = {e.event_id for e in parcel.events}
    plan = plan_for(parcel.tracking_number, silent_share=silent_share)
    pending = [s for s in plan if event_id_of(parcel.tracking_number, s) not in seen]
    if not pending:
        return None
    mine = [e for e in parcel.events if e.tracking_number == parcel.tracking_number]
    last = max((e.at for e in mine), default=shipped_at)
    return pending[0] if now - last >= step else None


@dataclass
class EmulatedCarrier:
    client: Client
    sqs: SQSClient
    events_url: str
    step: timedelta
    silent_share: float = 0.0

    async def round(self) -> int:
        """Post every event that is due; return how many were posted."""
        deliveries = DeliveryClient(self.client)
        posted = 0
        async for execution in self.client.list_workflows(RUNNING_DELIVERIES):
            parcel = await deliveries.status(execution.id)
            if parcel is None:
                continue
            status = next_event(
                parcel,
                shipped_at=execution.start_time,
                now=datetime.now(UTC),
                step=self.step,
                silent_share=self.silent_share,
            )
            if status is None:
                continue
            body = carrier_event_body(
                parcel.tracking_number,
                status,
                event_id=event_id_of(parcel.tracking_number, status),
            )
            await asyncio.to_thread(send_carrier_event, self.sqs, self.events_url, body)
            log.info("carrier: %s for %s", status.value, parcel.delivery_id)
            posted += 1
        return posted

    async def run(self) -> None:
        # A round every fifth of a step (at most 1 s): events land close to when they are due.
        pause = min(1.0, self.step.total_seconds() / 5)
        while True:
            try:
                await self.round()
            except Exception:  # the server restarting: the next round tries again
                log.warning("carrier round failed; retrying", exc_info=True)
            await asyncio.sleep(pause)


async def _main(step_s: float, silent_share: float) -> None:
    settings = load_settings()
    configure_logging(settings, service="oms-carrier")
    sqs = aws_clients().sqs
    carrier = EmulatedCarrier(
        client=await connect(settings),
        sqs=sqs,
        events_url=queue_url(sqs, settings.events_queue),
        step=timedelta(seconds=step_s),
        silent_share=silent_share,
    )
    await carrier.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The emulated carrier of the local stack.")
    parser.add_argument("--step-s", type=float, default=5.0)
    parser.add_argument("--silent-share", type=float, default=0.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.step_s, args.silent_share))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # temporalio can abort at interpreter exit (sdk-python#300)
