"""The emulated carrier's plans and timing (oms.local.carrier), without a stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms.delivery.contract import CarrierStatus, DeliveryState
from oms.delivery.payloads import CarrierEvent, DeliveryStatus
from oms.local.carrier import JOURNEY, event_id_of, next_event, plan_for

SHIPPED = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
STEP = timedelta(seconds=5)
TRACKINGS = [f"TRK{n:012d}GB" for n in range(400)]


def parcel(tracking: str, *events: CarrierStatus, at: datetime = SHIPPED) -> DeliveryStatus:
    return DeliveryStatus(
        delivery_id="delivery-O-1", order_id="O", number=1, warehouse="main",
        state=DeliveryState.IN_TRANSIT, tracking_number=tracking,
        events=[
            CarrierEvent(event_id=event_id_of(tracking, s), tracking_number=tracking, status=s,
                         at=at)
            for s in events
        ],
    )  # fmt: skip


def test_every_plan_is_the_journey_in_order_ending_delivered_with_a_few_missed_scans() -> None:
    plans = [plan_for(t) for t in TRACKINGS]

    assert all(p[-1] == CarrierStatus.DELIVERED for p in plans)
    assert all(list(p) == [s for s in JOURNEY if s in p] for p in plans)
    full = sum(p == JOURNEY for p in plans)
    assert 0.7 * len(plans) < full < len(plans)  # ~81 % with both scans; some miss one


def test_a_plan_depends_on_the_tracking_number_only() -> None:
    assert [plan_for(t) for t in TRACKINGS] == [plan_for(t) for t in TRACKINGS]


def test_a_silent_share_of_parcels_gets_no_event_at_all() -> None:
    silent = sum(plan_for(t, silent_share=0.05) == () for t in TRACKINGS)

    assert 5 <= silent <= 40  # ~20 of 400
    assert all(plan_for(t, silent_share=0.0) for t in TRACKINGS)


def test_the_next_event_is_due_one_step_after_the_last() -> None:
    tracking = next(t for t in TRACKINGS if plan_for(t) == JOURNEY)

    def due(p: DeliveryStatus, after: timedelta) -> CarrierStatus | None:
        return next_event(p, shipped_at=SHIPPED, now=SHIPPED + after, step=STEP)

    assert due(parcel(tracking), timedelta(seconds=4)) is None
    assert due(parcel(tracking), STEP) == CarrierStatus.IN_TRANSIT
    seen = parcel(tracking, CarrierStatus.IN_TRANSIT, at=SHIPPED + STEP)
    assert due(seen, STEP + timedelta(seconds=4)) is None
    assert due(seen, 2 * STEP) == CarrierStatus.OUT_FOR_DELIVERY
    done = parcel(tracking, *JOURNEY)
    assert due(done, timedelta(days=1)) is None


def test_no_event_for_a_parcel_a_person_is_handling_or_that_has_finished() -> None:
    tracking = TRACKINGS[0]
    waiting = parcel(tracking).model_copy(update={"attention": "parcel may be lost"})
    finished = parcel(tracking).model_copy(update={"finished": True})

    for p in (waiting, finished):
        assert next_event(p, shipped_at=SHIPPED, now=SHIPPED + STEP * 10, step=STEP) is None
