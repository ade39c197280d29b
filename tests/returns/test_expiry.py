"""Expiry with the real activities against moto, on the time-skipping server: after
OMS_RETURN_PARCEL_DAYS without a parcel the units are returnable again and the customer got
exactly the instructions and the expiry email."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.aws import AwsClients
from oms.config import Settings
from oms.mail.mailer import Email
from oms.orders.ledger import Ledger
from oms.returns.book import ReturnBookRepository
from oms.returns.contract import ReturnEvent, ReturnState, return_id
from oms.returns.payloads import ReturnInput, ReturnLine
from oms.returns.workflow import ReturnWorkflow
from oms.worker import build_activities


async def test_an_expired_return_frees_its_units_with_one_email_each(
    time_env: WorkflowEnvironment,
    clients: AwsClients,
    settings: Settings,
    ledger: Ledger,
    book: ReturnBookRepository,
    order_id: str,
) -> None:
    opened = book.open(order_id, {"MUG-RED": 2}, shipped={"MUG-RED": 2}, request_id="r")
    rid = return_id(order_id, opened.number)
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(4) as executor:
        async with Worker(
            time_env.client,
            task_queue=queue,
            workflows=[ReturnWorkflow],
            activities=build_activities(settings, clients),
            activity_executor=executor,
        ):
            result = await time_env.client.execute_workflow(
                ReturnWorkflow.run,
                ReturnInput(
                    return_id=rid,
                    order_id=order_id,
                    number=opened.number,
                    lines=[ReturnLine(sku="MUG-RED", quantity=2, unit_price=Decimal("12.50"))],
                    currency="EUR",
                    reason="does not fit",
                    customer_name="Ada Lovelace",
                    email="ada@example.com",
                    parcel_days=settings.return_parcel_days,
                ),
                id=rid,
                task_queue=queue,
            )

    assert result.state == ReturnState.EXPIRED
    returns = book.book(order_id)
    assert returns is not None
    assert returns.returned == {"MUG-RED": 0}
    sent = {e for e in ReturnEvent if ledger.get(Email, order_id, f"EMAIL#{rid}-{e.value}")}
    assert sent == {ReturnEvent.INSTRUCTIONS, ReturnEvent.EXPIRED}
    assert book.open(order_id, {"MUG-RED": 2}, shipped={"MUG-RED": 2}, request_id="again").created
