"""`oms worker`: the composition root of the worker process (the container's entry point).

settings → AWS clients → ledger → activities → Temporal client → Worker. SIGTERM (ECS stop,
scale-in, redeploy) drains: polling stops, running activities get `OMS_GRACEFUL_SHUTDOWN_SECONDS`
(shorter than the container's stop timeout) to finish, then the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    Interceptor,
    PollerBehaviorSimpleMaximum,
    Worker,
    WorkerDeploymentConfig,
)

from oms import metrics
from oms.aws import AwsClients, aws_clients
from oms.config import Settings
from oms.delivery.activities import DeliveryActivities
from oms.delivery.handoff import DeliveryHandoff
from oms.delivery.tracking import TrackingBook
from oms.delivery.workflow import AutoUpgradingDeliveryWorkflow, DeliveryWorkflow
from oms.health import Liveness, report_health
from oms.mail.mailer import Mailer
from oms.orders.activities.backorder import BackorderActivities, Suppliers
from oms.orders.activities.edit import EditActivities
from oms.orders.activities.inventory import InventoryActivities
from oms.orders.activities.notification import NotificationActivities
from oms.orders.activities.payment import PaymentActivities
from oms.orders.activities.shipping import Handoff, ShippingActivities
from oms.orders.backorder_wire import BackorderPlaced, BackorderRef, BackorderRequest
from oms.orders.gateway import PaymentGateway, SimulatedGateway
from oms.orders.workflow import OrderWorkflow
from oms.purchasing.activities import PurchasingActivities
from oms.purchasing.client import PurchaseOrderClient, PurchaseOrderTimings
from oms.purchasing.joiner import PurchaseOrderJoin
from oms.purchasing.supplier import RecordedSupplier
from oms.purchasing.workflow import AutoUpgradingPurchaseOrderWorkflow, PurchaseOrderWorkflow
from oms.reachability import frontend_probe, report_reachability
from oms.returns.activities import ReturnActivities
from oms.returns.workflow import AutoUpgradingReturnWorkflow, ReturnWorkflow
from oms.subscriptions.activities import SubscriptionActivities
from oms.subscriptions.workflow import AutoUpgradingSubscriptionWorkflow, SubscriptionWorkflow
from oms.temporal_client import connect_with_backoff

log = logging.getLogger("oms.worker")

WORKFLOWS: list[type] = [
    OrderWorkflow,
    ReturnWorkflow,
    DeliveryWorkflow,
    SubscriptionWorkflow,
    PurchaseOrderWorkflow,
]
# What a versioned worker registers instead of a workflow class of WORKFLOWS that must follow
# new builds (returns auto-upgrade): a subclass, same workflow type, declaring
# `@workflow.defn(name=..., versioning_behavior=VersioningBehavior.AUTO_UPGRADE)` with a `run`
# that calls `super().run`. The behaviour cannot sit on the plain class: the SDK sends it with
# every workflow task, and the server rejects it from an unversioned worker. Everything else is
# Pinned (`deployment_config`).
AUTO_UPGRADE: dict[type, type] = {
    ReturnWorkflow: AutoUpgradingReturnWorkflow,
    DeliveryWorkflow: AutoUpgradingDeliveryWorkflow,
    SubscriptionWorkflow: AutoUpgradingSubscriptionWorkflow,
    PurchaseOrderWorkflow: AutoUpgradingPurchaseOrderWorkflow,
}


class NoSuppliers:
    """`Suppliers` of a process without a Temporal client (`build_activities` without
    `suppliers`): a backorder cannot be placed, so the order fails BACKORDER_FAILED quickly
    instead of retrying for the step's hour."""

    def join(self, request: BackorderRequest) -> BackorderPlaced:
        raise ApplicationError(
            "backorders are not wired in this process", type="NoSuppliers", non_retryable=True
        )

    def withdraw(self, request: BackorderRef) -> int:
        return 0  # nothing was joined


def purchase_order_join(client: Client, settings: Settings, clients: AwsClients) -> Suppliers:
    """The order activities' way to purchase orders: the client half on the worker's loop."""
    purchase_orders = PurchaseOrderClient(
        client,
        clients.ledger(settings),
        task_queue=settings.task_queue,
        timings=PurchaseOrderTimings.of(settings),
    )
    return PurchaseOrderJoin(client=purchase_orders, loop=asyncio.get_running_loop())


def build_activities(
    settings: Settings,
    clients: AwsClients,
    *,
    gateway: PaymentGateway | None = None,
    handoff: Handoff | None = None,
    suppliers: Suppliers | None = None,
) -> list[Callable[..., Any]]:
    """Every activity of the product, with its dependencies (tests and the bench use this).
    Without `handoff` shipped parcels are not followed (no delivery workflow is started);
    without `suppliers` a short order with a supplier fails BACKORDER_FAILED."""
    ledger = clients.ledger(settings)
    inventory = InventoryActivities(ledger=ledger)
    gateway = gateway or SimulatedGateway(ledger, validity=settings.authorization_validity)
    payment = PaymentActivities(gateway=gateway)
    shipping = ShippingActivities(ledger=ledger, handoff=handoff)
    mailer = Mailer(
        sesv2=clients.sesv2,
        ledger=ledger,
        sender=settings.sender_email,
        configuration_set=settings.ses_configuration_set,
    )
    notification = NotificationActivities(mailer=mailer)
    edits = EditActivities(ledger=ledger, gateway=gateway)
    returns = ReturnActivities(
        ledger=ledger, gateway=gateway, mailer=mailer, window_days=settings.return_window_days
    )
    delivery = DeliveryActivities(ledger=ledger, gateway=gateway, mailer=mailer)
    subscriptions = SubscriptionActivities(mailer=mailer)
    backorders = BackorderActivities(suppliers=suppliers or NoSuppliers())
    purchasing = PurchasingActivities(ledger=ledger, supplier=RecordedSupplier(ledger))
    return [
        inventory.reserve_inventory,
        inventory.release_inventory,
        payment.authorize_payment,
        payment.capture_payment,
        payment.void_payment,
        payment.refund_payment,
        shipping.prepare_shipment,
        shipping.ship,
        shipping.cancel_shipment,
        notification.notify_customer,
        edits.adjust_reservation,
        edits.reauthorize_payment,
        returns.hold_return,
        returns.refund_return,
        returns.restock_return,
        returns.release_return,
        returns.notify_return,
        delivery.notify_delivery,
        delivery.refund_parcel,
        delivery.restock_parcel,
        delivery.reship_parcel,
        subscriptions.notify_subscription,
        backorders.request_backorder,
        backorders.withdraw_backorder,
        purchasing.place_purchase_order,
        purchasing.fill_backorders,
        purchasing.release_leftover,
    ]


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """With `OMS_BUILD_ID`: this worker is version `<OMS_WORKER_DEPLOYMENT>:<build id>` of the
    Worker Deployment, and workflows are Pinned unless their definition says otherwise (an
    order finishes on the code that started it, CONTRACT.md §7). Without: unversioned."""
    if not settings.build_id:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(settings.worker_deployment, settings.build_id),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


def workflows(settings: Settings) -> list[type]:
    """The workflow classes this worker registers (see AUTO_UPGRADE)."""
    if not settings.build_id:
        return list(WORKFLOWS)
    return [AUTO_UPGRADE.get(cls, cls) for cls in WORKFLOWS]


def build_worker(
    client: Client,
    settings: Settings,
    executor: ThreadPoolExecutor,
    *,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    clients = aws_clients(max_pool_connections=settings.max_concurrent_activities)
    handoff = DeliveryHandoff(
        client=client,
        loop=asyncio.get_running_loop(),
        tracking=TrackingBook(clients.ledger(settings)),
        settings=settings,
    )
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=workflows(settings),
        activities=build_activities(
            settings,
            clients,
            handoff=handoff,
            suppliers=purchase_order_join(client, settings, clients),
        ),
        activity_executor=executor,
        interceptors=interceptors,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.workflow_task_pollers),
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.activity_task_pollers),
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        deployment_config=deployment_config(settings),
    )


async def run_worker(settings: Settings, *, interceptors: Sequence[Interceptor] = ()) -> None:
    """Run until SIGTERM/SIGINT, then drain. Raises if the worker fails."""
    # Handlers first: a SIGTERM while still connecting (Temporal unreachable) stops at once
    # instead of being ignored until ECS kills the task at the end of its stop timeout.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stopping = asyncio.create_task(stop.wait())
    # Before connecting: the client records SDK metrics into this runtime (oms.metrics).
    sdk_metrics = metrics.setup(settings.metrics == "emf")
    # Healthy from here while alive: connecting (with backoff, as long as Temporal is down)
    # counts as alive, so ECS does not cycle tasks through an outage (oms.health).
    liveness = Liveness()
    health = asyncio.create_task(report_health(liveness))
    connecting = asyncio.create_task(connect_with_backoff(settings))
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():
        connecting.cancel()
        health.cancel()
        log.info("stopped while connecting to Temporal")
        return
    try:
        client = connecting.result()
    except BaseException:
        health.cancel()  # a wrong setting: unhealthy at once, the process exits
        raise
    threads = settings.max_concurrent_activities  # one per activity slot
    with ThreadPoolExecutor(threads, thread_name_prefix="activity") as executor:
        worker = build_worker(client, settings, executor, interceptors=interceptors)
        running = asyncio.create_task(worker.run())
        liveness.polling(worker)
        reachability = asyncio.create_task(
            report_reachability(frontend_probe(client), task_queue=settings.task_queue)
        )
        publishing = asyncio.create_task(metrics.publish_periodically(sdk_metrics))
        log.info(
            "worker polling task queue %s as %s",
            settings.task_queue,
            f"version {settings.worker_deployment}:{settings.build_id}"
            if settings.build_id
            else "an unversioned worker",
        )
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        health.cancel()  # not polling from here on: the health check says so
        reachability.cancel()
        if not running.done():
            log.info(
                "draining: up to %ss for running activities", settings.graceful_shutdown_seconds
            )
            await worker.shutdown()
        stopping.cancel()
        publishing.cancel()  # writes what is left
        await asyncio.gather(publishing, return_exceptions=True)
        await running  # re-raises a worker failure
    log.info("worker stopped")
