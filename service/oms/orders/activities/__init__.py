"""Activities: one class per external system, clients injected through the constructor.

Activities are synchronous (boto3 blocks) and run on the worker's thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oms.aws import AwsClients
from oms.config import Settings
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.notification import NotificationActivities
from oms.orders.activities.payment import PaymentActivities, PaymentGateway, SimulatedGateway
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.ledger import Ledger


def build_activities(
    settings: Settings, clients: AwsClients, *, gateway: PaymentGateway | None = None
) -> list[Callable[..., Any]]:
    latency = settings.step_latency_ms / 1000
    ledger = Ledger(clients.dynamodb, settings.orders_table)
    inventory = InventoryActivities(
        dynamodb=clients.dynamodb,
        inventory_table=settings.inventory_table,
        ledger=ledger,
        latency=latency,
    )
    payment = PaymentActivities(gateway=gateway or SimulatedGateway(ledger), latency=latency)
    shipping = ShippingActivities(
        dynamodb=clients.dynamodb,
        ledger=ledger,
        inventory_table=settings.inventory_table,
        latency=latency,
    )
    notification = NotificationActivities(
        sesv2=clients.sesv2,
        ledger=ledger,
        sender=settings.sender_email,
        configuration_set=settings.ses_configuration_set,
    )
    return [
        inventory.reserve_inventory,
        inventory.release_inventory,
        payment.charge_payment,
        payment.refund_payment,
        shipping.prepare_shipment,
        shipping.ship,
        shipping.cancel_shipment,
        notification.notify_customer,
    ]
