"""OrderWorkflow on the time-skipping server with activities mocked by name."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from oms.orders.contract import CANCEL_SIGNAL, CANCEL_UPDATE, OrderState, Step
from oms.orders.payloads import CancelRequest, CancelResponse, OrderStatus
from oms.orders.workflow import OrderWorkflow

from .conftest import OrderRunner, Run
from .fakes import FakeSystems

FORWARD = ["reserve_inventory", "charge_payment", "prepare_shipment", "ship", "notify_customer"]


async def test_happy_path_completes_every_step_once(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    outcome = await run_order(systems, scenario="happy")
    assert outcome.result.state == OrderState.COMPLETED
    assert outcome.result.tracking_number == "TRK-1"
    assert systems.log == FORWARD
    assert [s.step for s in outcome.result.steps] == FORWARD
    assert outcome.order_status == "COMPLETED"
    assert [e.outcome for e in systems.emails] == [OrderState.COMPLETED]


async def test_out_of_stock_fails_without_charging(run_order: OrderRunner) -> None:
    systems = FakeSystems(out_of_stock=True)
    outcome = await run_order(systems, scenario="out-of-stock")
    assert (outcome.result.state, outcome.result.reason) == (OrderState.FAILED, "OUT_OF_STOCK")
    assert systems.log == ["notify_customer"]  # nothing to charge, nothing to release
    assert systems.calls["charge_payment"] == 0
    assert systems.emails[0].reason == "OUT_OF_STOCK"
    assert outcome.order_status == "FAILED"


async def test_declined_payment_releases_stock_and_never_retries(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    outcome = await run_order(systems, scenario="declined", token="tok_declined")
    assert (outcome.result.state, outcome.result.reason) == (OrderState.FAILED, "PAYMENT_DECLINED")
    assert systems.calls["charge_payment"] == 1
    assert systems.log == ["reserve_inventory", "release_inventory", "notify_customer"]
    assert systems.calls["refund_payment"] == 0


async def test_a_flaky_payment_is_retried_to_success(run_order: OrderRunner) -> None:
    systems = FakeSystems(flaky_charges=2)
    outcome = await run_order(systems, scenario="flaky-payment", token="tok_flaky")
    assert outcome.result.state == OrderState.COMPLETED
    assert systems.calls["charge_payment"] == 3
    assert systems.log == FORWARD


async def test_an_email_outage_delays_the_email_but_not_the_outcome(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(failing_emails=5)
    outcome = await run_order(systems, scenario="email-outage")
    assert outcome.result.state == OrderState.COMPLETED
    assert systems.calls["notify_customer"] == 6
    assert len(systems.emails) == 1


async def test_a_step_that_keeps_failing_fails_the_order_and_undoes_the_rest(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems(broken={"prepare_shipment"})
    outcome = await run_order(systems, scenario="shipment-outage")
    assert (outcome.result.state, outcome.result.reason) == (OrderState.FAILED, "SHIPMENT_FAILED")
    assert systems.log == [
        "reserve_inventory",
        "charge_payment",
        "cancel_shipment",  # it may have prepared a package before failing: undo defensively
        "refund_payment",
        "release_inventory",
        "notify_customer",
    ]


UNDO = {
    "reserve_inventory": ["release_inventory"],
    "charge_payment": ["refund_payment", "release_inventory"],
    "prepare_shipment": ["cancel_shipment", "refund_payment", "release_inventory"],
}


@pytest.mark.parametrize("step", list(UNDO))
@pytest.mark.parametrize("via", ["signal", "update"])
async def test_cancel_while_a_step_runs_undoes_exactly_what_was_started(
    run_order: OrderRunner, step: str, via: str
) -> None:
    systems = FakeSystems()
    systems.block(step)
    at_close: list[str] = []

    async def cancel_mid_step(run: Run) -> None:
        await systems.entered[step].wait()
        if via == "signal":
            await run.handle.signal(CANCEL_SIGNAL, "customer changed their mind")
        else:
            response = await run.handle.execute_update(
                CANCEL_UPDATE,
                CancelRequest(reason="customer changed their mind"),
                result_type=CancelResponse,
            )
            assert response.accepted
        outcome = await run.handle.result()  # the workflow does not wait for the stuck step
        assert outcome.state == OrderState.CANCELLED
        at_close.extend(systems.log)
        systems.release(step)  # the stuck attempt finishes late: the real activities refuse it

    outcome = await run_order(systems, scenario=f"cancel-{via}-{step}", during=cancel_mid_step)
    assert outcome.result.reason == "customer changed their mind"
    assert outcome.order_status == "CANCELLED"
    done = FORWARD[: FORWARD.index(step)]
    assert at_close == [*done, *UNDO[step], "notify_customer"]
    assert [e.outcome for e in systems.emails] == [OrderState.CANCELLED]


async def test_cancel_is_rejected_once_shipping_started(run_order: OrderRunner) -> None:
    systems = FakeSystems()
    systems.block("ship")

    async def cancel_while_shipping(run: Run) -> None:
        await systems.entered["ship"].wait()
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await run.handle.execute_update(
                CANCEL_UPDATE, CancelRequest(reason="too late"), result_type=CancelResponse
            )
        assert "shipping" in str(rejected.value.cause)
        await run.handle.signal(CANCEL_SIGNAL, "too late")  # ignored, not an error
        systems.release("ship")

    outcome = await run_order(systems, scenario="cancel-rejected", during=cancel_while_shipping)
    assert outcome.result.state == OrderState.COMPLETED
    assert "release_inventory" not in systems.log
    assert "refund_payment" not in systems.log


async def test_status_query_reports_the_running_step_and_what_is_done(
    run_order: OrderRunner,
) -> None:
    systems = FakeSystems()
    systems.block("prepare_shipment")

    async def inspect(run: Run) -> None:
        await systems.entered["prepare_shipment"].wait()
        status = await run.handle.query(OrderWorkflow.status)
        assert isinstance(status, OrderStatus)
        assert status.state == OrderState.PAID
        assert status.step == Step.PREPARE_SHIPMENT
        assert [s.step for s in status.steps] == ["reserve_inventory", "charge_payment"]
        assert status.steps[0].at <= status.steps[1].at
        assert status.tracking_number is None
        assert await run.order_status_attribute() == "PAID"
        systems.release("prepare_shipment")

    outcome = await run_order(systems, scenario="status", during=inspect)
    assert outcome.result.state == OrderState.COMPLETED


async def test_status_json_has_the_contract_fields(run_order: OrderRunner) -> None:
    systems = FakeSystems()

    async def check(run: Run) -> None:
        await run.handle.result()
        status = await run.handle.query(OrderWorkflow.status)
        document = status.model_dump(mode="json", by_alias=True)
        assert {"orderId", "state", "reason", "step", "steps", "trackingNumber"} <= set(document)
        assert document["state"] == "COMPLETED"
        assert document["trackingNumber"] == "TRK-1"
        assert document["emailSent"] is True

    await run_order(systems, scenario="status-json", during=check)


async def test_a_temporal_cancellation_runs_the_same_saga(run_order: OrderRunner) -> None:
    """Cancelled from the Temporal UI or CLI (not our signal/update): same compensation."""
    systems = FakeSystems()
    systems.block("prepare_shipment")
    at_close: list[str] = []

    async def cancel_from_temporal(run: Run) -> None:
        await systems.entered["prepare_shipment"].wait()
        await run.handle.cancel()
        outcome = await run.handle.result()
        assert outcome.state == OrderState.CANCELLED
        at_close.extend(systems.log)
        systems.release("prepare_shipment")

    outcome = await run_order(systems, scenario="temporal-cancel", during=cancel_from_temporal)
    assert outcome.result.reason == "workflow cancellation requested"
    assert at_close == [
        "reserve_inventory", "charge_payment",
        "cancel_shipment", "refund_payment", "release_inventory", "notify_customer",
    ]  # fmt: skip
