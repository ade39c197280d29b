from __future__ import annotations

import pytest

from oms.aws import AwsClients
from oms.config import Settings
from oms.mail.mailer import Mailer
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.notification import NotificationActivities
from oms.orders.activities.payment import PaymentActivities
from oms.orders.activities.shipping import ShippingActivities
from oms.orders.gateway import SimulatedGateway
from oms.orders.ledger import Ledger
from oms.resources import QueueUrls


@pytest.fixture(scope="session")
def ledger(clients: AwsClients, settings: Settings, queues: QueueUrls) -> Ledger:
    # `queues` makes sure every resource (tables too) exists before the first call.
    return clients.ledger(settings)


@pytest.fixture(scope="session")
def inventory(ledger: Ledger) -> InventoryActivities:
    return InventoryActivities(ledger=ledger)


@pytest.fixture(scope="session")
def gateway(ledger: Ledger) -> SimulatedGateway:
    return SimulatedGateway(ledger)


@pytest.fixture(scope="session")
def payment(gateway: SimulatedGateway) -> PaymentActivities:
    return PaymentActivities(gateway=gateway)


@pytest.fixture(scope="session")
def shipping(ledger: Ledger) -> ShippingActivities:
    return ShippingActivities(ledger=ledger)


@pytest.fixture(scope="session")
def mailer(clients: AwsClients, settings: Settings, ledger: Ledger) -> Mailer:
    return Mailer(
        sesv2=clients.sesv2, ledger=ledger, sender=settings.sender_email, configuration_set=None
    )


@pytest.fixture(scope="session")
def notification(mailer: Mailer) -> NotificationActivities:
    return NotificationActivities(mailer=mailer)
