"""DeliveryWorkflow: one parcel from the carrier's pickup to the customer's door, on the process
core. Carrier events arrive as signals (idempotent by event id; an event that would move the
parcel back, or names an old tracking number, is late and changes nothing). One email per
milestone (out for delivery, delivered, then a review request after `review_days`, a durable
timer). An EXCEPTION emails once and waits NEEDS_ATTENTION; so does a parcel silent for
`silence_days` ("parcel may be lost", state LOST). `resolve --step delivery --action reship`
sends a new parcel (new tracking, no charge), `--action refund` refunds the parcel's capture;
RETURNED_TO_SENDER restocks and refunds.

Deliveries live for weeks, so this workflow is upgraded to new worker builds while it waits
(Auto-upgrade). Any change to the commands it issues must be guarded with
`workflow.patched("<change>")` and covered by a recorded history, or waiting deliveries fail on
the next deploy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Final

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.delivery import policies
    from oms.delivery.activities import DeliveryActivities
    from oms.delivery.contract import (
        CARRIER_EVENT_SIGNAL,
        DELIVERY_STEP,
        PROGRESS,
        RESOLVE_UPDATE,
        STATUS_QUERY,
        CarrierStatus,
        DeliveryEmail,
        DeliveryErrorType,
        DeliveryState,
        DeliveryStep,
        ResolveAction,
        delivery_id,
    )
    from oms.delivery.payloads import (
        CarrierEvent,
        DeliveryInput,
        DeliveryNotifyInput,
        DeliveryResolveRequest,
        DeliveryStatus,
        ParcelRefundInput,
        ReshipInput,
        RestockInput,
    )
    from oms.process.runtime import BUGS, Process, signal_guard, update_guard
    from oms.process.visibility import ORDER_STATUS_KEY
    from oms.process.wire import ResolveRequest, ResolveResponse

LOST: Final = "parcel may be lost: no carrier event for {days} days"
RESOLVABLE: Final = tuple(s.value for s in DeliveryStep if s != DeliveryStep.CARRIER_EVENT)
SEEN_LIMIT: Final = 200  # event ids kept for deduplication (a parcel has a handful)


@dataclass
class DeliveryContext:
    request: DeliveryInput
    tracking_number: str


@workflow.defn(failure_exception_types=BUGS)
class DeliveryWorkflow:
    @workflow.init
    def __init__(self, request: DeliveryInput) -> None:
        self._request = request
        self._id = delivery_id(request.order_id, request.number)
        self._state = DeliveryState.AWAITING_PICKUP
        self._progress = 0  # PROGRESS of the furthest state reached on the current tracking
        self._inbox: list[CarrierEvent] = []
        self._seen: list[str] = []
        self._events: list[CarrierEvent] = []
        self._emails: list[DeliveryEmail] = []
        self._action: DeliveryResolveRequest | None = None
        self._reships = 0
        self._refunded: Decimal | None = None
        self._finished = False
        self.process = Process(
            subject=self._id,
            context=DeliveryContext(request=request, tracking_number=request.tracking_number),
            attention_after=timedelta(seconds=request.attention_after_seconds),
            resolvable=RESOLVABLE,
            search_key=ORDER_STATUS_KEY,
            search_value=None,  # set only once the delivery needs a person
            describe=lambda: [self._state.value],
        )

    @workflow.run
    async def run(self, request: DeliveryInput) -> DeliveryStatus:
        return await self.process.execute(self._follow, self._recover)

    async def _follow(self) -> DeliveryStatus:
        silence = timedelta(days=self._request.silence_days)
        while not self._finished:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or self._action is not None,
                    timeout=None if self.process.attention else silence,
                )
            if self._action is not None:
                await self._settle(self._action)
                self._action = None
            elif self._inbox:
                await self._apply(self._inbox.pop(0))
            else:  # silent for too long
                self._state = DeliveryState.LOST
                self.process.need_attention(LOST.format(days=self._request.silence_days))
        return self._end()

    async def _recover(self, why: str) -> DeliveryStatus:
        """A bug interrupted the delivery (attention is set): it ends as it stands."""
        return self._end()

    def _end(self) -> DeliveryStatus:
        self._finished = True
        self.process.show()
        if self.process.search_value is not None:  # it needed a person: show how it ended
            self.process.publish_outcome("COMPLETED")
        return self.status()

    # --- carrier events ----------------------------------------------------------------------

    async def _apply(self, event: CarrierEvent) -> None:
        status = event.status
        if status == CarrierStatus.EXCEPTION:
            if self._state == DeliveryState.EXCEPTION:
                return  # the same trouble again: already waiting for a person
            self._state = DeliveryState.EXCEPTION
            self.process.record(DeliveryStep.CARRIER_EVENT, status.value)
            if DeliveryEmail.EXCEPTION not in self._emails:  # the customer hears of it once
                await self._email(DeliveryEmail.EXCEPTION)
            self.process.need_attention(
                "the carrier reported an exception; settle it with `oms resolve --step delivery "
                "--action reship|refund`"
            )
            return
        rank = PROGRESS[status.value]
        if rank <= self._progress:
            return  # late or out of order: a delivery never goes backwards
        self._progress = rank
        self._state = DeliveryState(status.value)
        self.process.record(DeliveryStep.CARRIER_EVENT, status.value)
        if self.process.attention is not None:  # moving again: nobody needs to act any more
            self.process.clear_attention()
        self.process.show()
        if status == CarrierStatus.OUT_FOR_DELIVERY:
            await self._email(DeliveryEmail.OUT_FOR_DELIVERY)
        elif status == CarrierStatus.DELIVERED:
            await self._email(DeliveryEmail.DELIVERED)
            await workflow.sleep(timedelta(days=self._request.review_days))
            await self._email(DeliveryEmail.REVIEW_REQUEST)
            self._finished = True
        elif status == CarrierStatus.RETURNED_TO_SENDER:
            await self._restock()
            await self._refund()
            await self._email(DeliveryEmail.RETURNED)
            self._finished = True

    # --- settling by hand --------------------------------------------------------------------

    async def _settle(self, request: DeliveryResolveRequest) -> None:
        self.process.record(DeliveryStep.RESOLVE, f"{request.action}: {request.note}")
        self.process.clear_attention()
        if request.action == ResolveAction.RESHIP:
            await self._reship()
        else:
            await self._refund()
            await self._email(DeliveryEmail.REFUNDED)
            self._finished = True

    async def _reship(self) -> None:
        request = self._request
        self._reships += 1
        attempt = self._reships
        result = await self.process.must_finish(
            DeliveryStep.RESHIP,
            DeliveryActivities.reship_parcel,
            lambda: ReshipInput(
                order_id=request.order_id,
                delivery_id=self._id,
                attempt=attempt,
                warehouse=request.warehouse,
                lines=request.lines,
            ),
            policies.MUST_FINISH,
        )
        if result is not None:
            self.process.context.tracking_number = result.tracking_number
            self.process.record(DeliveryStep.RESHIP, f"attempt {attempt}")
        self._state = DeliveryState.AWAITING_PICKUP
        self._progress = 0  # the new parcel starts its way
        self.process.show()
        await self._email(DeliveryEmail.RESHIPPED, key=f"{DeliveryEmail.RESHIPPED}-{attempt}")

    async def _refund(self) -> None:
        request = self._request
        result = await self.process.must_finish(
            DeliveryStep.REFUND,
            DeliveryActivities.refund_parcel,
            lambda: ParcelRefundInput(
                order_id=request.order_id, delivery_id=self._id, amount=request.captured
            ),
            policies.MUST_FINISH,
        )
        if result is not None:
            self._refunded = result.amount
            self.process.record(DeliveryStep.REFUND, f"{result.amount} {request.currency}")

    async def _restock(self) -> None:
        request = self._request
        result = await self.process.must_finish(
            DeliveryStep.RESTOCK,
            DeliveryActivities.restock_parcel,
            lambda: RestockInput(
                order_id=request.order_id,
                delivery_id=self._id,
                warehouse=request.warehouse,
                lines=request.lines,
            ),
            policies.MUST_FINISH,
        )
        if result is not None:
            self.process.record(DeliveryStep.RESTOCK, request.warehouse)

    async def _email(self, event: DeliveryEmail, *, key: str | None = None) -> None:
        request = self._request
        build: Callable[[], DeliveryNotifyInput] = lambda: DeliveryNotifyInput(  # noqa: E731
            order_id=request.order_id,
            delivery_id=self._id,
            email_key=f"{self._id}-{key or event.value}",
            event=event,
            tracking_number=self.process.context.tracking_number,
            customer_name=request.customer_name,
            email=request.email,
            lines=request.lines,
            currency=request.currency,
            amount=self._refunded,
        )
        result = await self.process.must_finish(
            DeliveryStep.NOTIFY, DeliveryActivities.notify_delivery, build, policies.EMAIL
        )
        if result is not None:
            self._emails.append(event)
            detail = f"not sent: {result.rejected}" if result.rejected else event.value
            self.process.record(DeliveryStep.NOTIFY, detail)

    # --- handlers ----------------------------------------------------------------------------

    @workflow.signal(name=CARRIER_EVENT_SIGNAL)
    @signal_guard
    def carrier_event(self, event: CarrierEvent) -> None:
        if event.event_id in self._seen or self._finished:
            return  # a duplicate (or after the end): exactly once in effect
        self._seen = [*self._seen, event.event_id][-SEEN_LIMIT:]
        if event.tracking_number != self.process.context.tracking_number:
            return  # an event of a parcel this delivery replaced: late
        self._events.append(event)
        self._inbox.append(event)

    @workflow.update(name=RESOLVE_UPDATE)
    @update_guard
    def resolve(self, request: DeliveryResolveRequest) -> ResolveResponse:
        if request.step == DELIVERY_STEP:
            self._action = request
            return ResolveResponse(accepted=True, message=f"delivery: {request.action} requested")
        self.process.resolve(ResolveRequest(step=request.step, note=request.note))
        return ResolveResponse(accepted=True, message=f"{request.step} settled by hand")

    @resolve.validator
    def _validate_resolve(self, request: DeliveryResolveRequest) -> None:
        refusal = self._resolve_refusal(request)
        if refusal is not None:
            raise ApplicationError(
                refusal, type=DeliveryErrorType.REQUEST_REJECTED, non_retryable=True
            )

    def _resolve_refusal(self, request: DeliveryResolveRequest) -> str | None:
        if request.step != DELIVERY_STEP:
            return self.process.resolve_refusal(
                ResolveRequest(step=request.step, note=request.note)
            )
        if request.action is None:
            return "say what to do: --action reship or --action refund"
        waiting = self._state in (DeliveryState.EXCEPTION, DeliveryState.LOST)
        if self._finished or not waiting or self.process.step is not None:
            return f"nothing to resolve: the delivery is {self._state.value}"
        if self._action is not None:
            return "already being settled"
        return None

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> DeliveryStatus:
        request = self._request
        return DeliveryStatus(
            delivery_id=self._id,
            order_id=request.order_id,
            number=request.number,
            warehouse=request.warehouse,
            state=self._state,
            tracking_number=self.process.context.tracking_number,
            lines=request.lines,
            captured=request.captured,
            events=list(self._events),
            emails=list(self._emails),
            steps=list(self.process.steps),
            refunded=self._refunded,
            finished=self._finished,
            step=self.process.step,
            attention=self.process.attention,
        )


@workflow.defn(
    name="DeliveryWorkflow",
    versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    failure_exception_types=BUGS,
)
class AutoUpgradingDeliveryWorkflow(DeliveryWorkflow):
    """What a versioned worker registers (`oms.worker.AUTO_UPGRADE`): deliveries wait for weeks,
    so they move to new builds (changes guarded by `workflow.patched`)."""

    @workflow.run
    async def run(self, request: DeliveryInput) -> DeliveryStatus:
        return await super().run(request)
