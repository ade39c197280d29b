"""What every command needs, built once per invocation: settings, AWS clients, Temporal."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Coroutine
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from temporalio.client import Client

from oms.aws import AwsClients, aws_clients
from oms.cli.app import console
from oms.cli.errors import CliError
from oms.config import Settings, load_settings
from oms.delivery.client import DeliveryClient
from oms.orders.client import OrderClient
from oms.orders.ledger import Ledger
from oms.returns.client import ReturnClient
from oms.subscriptions.client import SubscriptionClient
from oms.temporal_client import connect, connect_config

if TYPE_CHECKING:
    from oms.purchasing.client import PurchaseOrderClient

T = TypeVar("T")


@cache
def settings() -> Settings:
    return load_settings()


NO_LOCAL_STACK = "no local stack is running (start one with `oms dev`)"


@cache
def aws() -> AwsClients:
    configured = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")
    if not any(os.environ.get(name) for name in configured):
        raise CliError(f"{NO_LOCAL_STACK}; for AWS, set AWS_REGION (and credentials)")
    return aws_clients()


async def temporal() -> Client:
    try:
        return await connect(settings())
    except RuntimeError as exc:  # the SDK reports connection failures as RuntimeError
        address = connect_config(settings()).get("target_host", "?")
        # The SDK's message is a long transport error; keep the part a person can act on.
        why = "connection refused" if "Connection refused" in str(exc) else str(exc)
        if not os.environ.get("TEMPORAL_ADDRESS"):  # no `.oms/local.env`, nothing exported
            raise CliError(
                f"{NO_LOCAL_STACK}; for another Temporal, set TEMPORAL_ADDRESS ({why} at {address})"
            ) from None
        raise CliError(
            f"cannot reach Temporal at {address} ({why}); "
            "is `oms dev` running, or TEMPORAL_ADDRESS set?"
        ) from None


@cache
def ledger() -> Ledger:
    return aws().ledger(settings())


async def orders() -> OrderClient:
    return OrderClient(
        await temporal(),
        ledger(),
        task_queue=settings().task_queue,
        attention_after_seconds=settings().attention_after_seconds,
        review_above=settings().review_above,
        review_timeout=settings().review_timeout,
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def print_json(document: Any) -> None:
    """One JSON document on stdout, nothing else there (for scripts)."""
    if isinstance(document, BaseModel):
        document = document.model_dump(mode="json", by_alias=True)
    elif isinstance(document, list):
        document = [
            d.model_dump(mode="json", by_alias=True) if isinstance(d, BaseModel) else d
            for d in document
        ]
    console.file.write(json.dumps(document, indent=2, default=str) + "\n")


async def deliveries() -> DeliveryClient:
    return DeliveryClient(await temporal())


async def returns() -> ReturnClient:
    return ReturnClient(
        await orders(),
        parcel_days=settings().return_parcel_days,
        attention_after_seconds=settings().attention_after_seconds,
    )


async def purchase_orders() -> PurchaseOrderClient:
    from oms.purchasing.client import PurchaseOrderClient, PurchaseOrderTimings

    return PurchaseOrderClient(
        await temporal(),
        ledger(),
        task_queue=settings().task_queue,
        timings=PurchaseOrderTimings.of(settings()),
    )


async def subscriptions() -> SubscriptionClient:
    from oms.intake.starter import subscription_client

    return subscription_client(await temporal(), settings(), ledger())
