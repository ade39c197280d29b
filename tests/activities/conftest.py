from __future__ import annotations

import pytest

from oms.aws import AwsClients
from oms.config import Settings
from oms.ops.resources import QueueUrls
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.notification import NotificationActivities
from oms.orders.activities.payment import PaymentActivities, SimulatedGateway
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.ledger import Ledger


@pytest.fixture(scope="session")
def ledger(clients: AwsClients, settings: Settings, queues: QueueUrls) -> Ledger:
    return Ledger(clients.dynamodb, settings.orders_table)


@pytest.fixture(scope="session")
def inventory(clients: AwsClients, settings: Settings, ledger: Ledger) -> InventoryActivities:
    return InventoryActivities(
        dynamodb=clients.dynamodb, inventory_table=settings.inventory_table, ledger=ledger
    )


@pytest.fixture(scope="session")
def payment(ledger: Ledger) -> PaymentActivities:
    return PaymentActivities(gateway=SimulatedGateway(ledger))


@pytest.fixture(scope="session")
def shipping(clients: AwsClients, settings: Settings, ledger: Ledger) -> ShippingActivities:
    return ShippingActivities(
        dynamodb=clients.dynamodb, ledger=ledger, inventory_table=settings.inventory_table
    )


@pytest.fixture(scope="session")
def notification(clients: AwsClients, settings: Settings, ledger: Ledger) -> NotificationActivities:
    return NotificationActivities(sesv2=clients.sesv2, ledger=ledger, sender=settings.sender_email)
