"""`oms carrier event`: put a carrier event on the events queue, as a carrier's webhook would."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import typer

from oms.cli import context
from oms.cli.app import JsonFlag, app, console
from oms.cli.errors import CliError
from oms.cli.failures import one_line_errors
from oms.delivery.client import carrier_event_body, send_carrier_event
from oms.delivery.contract import CarrierStatus
from oms.events.messages import InvalidEventError, parse_event
from oms.resources import queue_url

carrier_app = typer.Typer(
    name="carrier",
    help="Carrier events (the OMS_EVENTS_QUEUE queue): what the carrier's webhook sends.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(carrier_app)


@carrier_app.command(name="event")
@one_line_errors
def event(
    tracking: Annotated[str, typer.Argument(metavar="TRACKING", help="The tracking number.")],
    status: Annotated[
        str, typer.Argument(metavar="STATUS", help=f"One of {', '.join(CarrierStatus)}.")
    ],
    at: Annotated[
        str | None, typer.Option("--at", help="When it happened (ISO 8601; default now).")
    ] = None,
    event_id: Annotated[
        str | None, typer.Option("--event-id", help="The carrier's event id (default: new).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a carrier event for a parcel; the same --event-id twice changes nothing.

    Example: oms carrier event TRK000123456789GB OUT_FOR_DELIVERY
    """
    if status not in CarrierStatus.__members__:
        raise CliError(f"STATUS must be one of {', '.join(CarrierStatus)}", exit_code=2)
    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise CliError(f"--at must be an ISO 8601 time; got {at!r}", exit_code=2) from None
        if when.tzinfo is None:
            raise CliError("--at needs a time zone (e.g. 2026-05-01T10:00:00Z)", exit_code=2)
    if event_id is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", event_id):
        raise CliError("--event-id: letters, digits, . _ : - (up to 128)", exit_code=2)
    body = carrier_event_body(tracking, CarrierStatus(status), at=when, event_id=event_id)
    try:
        parse_event(body)  # what the intake would refuse, refused here with the same reason
    except InvalidEventError as error:
        raise CliError(error.reason, exit_code=2) from None
    sqs = context.aws().sqs
    message_id = send_carrier_event(sqs, queue_url(sqs, context.settings().events_queue), body)
    if as_json:
        context.print_json({"messageId": message_id, "trackingNumber": tracking, "status": status})
    else:
        console.print(f"sent {status} for {tracking}", highlight=False, markup=False)
