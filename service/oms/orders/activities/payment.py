"""Payment: a gateway interface, a simulated gateway, and the activities that call it.

The simulated gateway keeps its charges in the order ledger keyed by the order's idempotency
key, like a real provider's `Idempotency-Key`: a retried charge returns the first charge, never
a second one. Replace `SimulatedGateway` with a real provider's client behind the same
`PaymentGateway` protocol.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.orders.contract import ErrorType
from oms.orders.ledger import (
    CHARGE,
    CHARGE_ATTEMPTS,
    Ledger,
    now_iso,
    simulate_latency,
    status_of,
    text,
)
from oms.orders.payloads import ChargeInput, ChargeResult, CompensationResult, OrderRef

DECLINED_TOKEN = "tok_declined"  # noqa: S105 - the simulator's test token, not a secret
FLAKY_TOKEN = "tok_flaky"  # noqa: S105 - the simulator's test token, not a secret
FLAKY_FAILURES = 2

CHARGED = "CHARGED"
REFUNDED = "REFUNDED"
VOIDED = "VOIDED"  # tombstone: the order was compensated before any charge happened


class PaymentDeclinedError(Exception):
    """The provider said no: a business outcome, never retried."""


class GatewayUnavailableError(Exception):
    """A transient provider failure: retried by Temporal."""


class ChargeVoidedError(Exception):
    """The order's payment was already compensated; a late charge must not happen."""


def idempotency_key(order_id: str, operation: str) -> str:
    return f"{operation}-{order_id}"


class PaymentGateway(Protocol):
    def charge(self, request: ChargeInput, *, idempotency_key: str) -> ChargeResult: ...

    def refund(self, order_id: str, *, idempotency_key: str) -> CompensationResult: ...


class SimulatedGateway:
    """`tok_declined` is declined, `tok_flaky` fails twice then succeeds, anything else approves."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def charge(self, request: ChargeInput, *, idempotency_key: str) -> ChargeResult:
        existing = self._ledger.get(request.order_id, CHARGE)
        if existing is not None:
            return self._replay(existing)
        if request.token == DECLINED_TOKEN:
            raise PaymentDeclinedError("card declined")
        attempts = (
            self._ledger.increment(request.order_id, CHARGE_ATTEMPTS, "attempts")
            if request.token == FLAKY_TOKEN
            else 0
        )
        if attempts and attempts <= FLAKY_FAILURES:
            raise GatewayUnavailableError("payment gateway timed out")
        charge_id = f"ch_{uuid.uuid4().hex[:24]}"
        created = self._ledger.put_new(
            request.order_id,
            CHARGE,
            {
                "status": text(CHARGED),
                "chargeId": text(charge_id),
                "idempotencyKey": text(idempotency_key),
                "amount": {"N": str(request.amount)},
                "currency": text(request.currency),
                "at": now_iso(),
            },
        )
        if not created:  # a concurrent attempt won: its charge is the charge
            return self._replay(self._ledger.get(request.order_id, CHARGE))
        return ChargeResult(charge_id=charge_id, amount=request.amount, currency=request.currency)

    def _replay(self, item: dict[str, Any] | None) -> ChargeResult:
        if item is None or status_of(item) != CHARGED:
            raise ChargeVoidedError("payment was already refunded or voided")
        return ChargeResult(
            charge_id=item["chargeId"]["S"],
            amount=Decimal(item["amount"]["N"]),
            currency=item["currency"]["S"],
        )

    def refund(self, order_id: str, *, idempotency_key: str) -> CompensationResult:
        for _ in range(5):  # each pass either finishes or lost a race to a concurrent writer
            item = self._ledger.get(order_id, CHARGE)
            state = status_of(item)
            if state in (REFUNDED, VOIDED):
                return CompensationResult(undone=False, detail=f"already {state.lower()}")
            if item is None:
                if self._ledger.put_new(order_id, CHARGE, {"status": text(VOIDED)}):
                    return CompensationResult(undone=False, detail="nothing was charged")
                continue
            refund_id = f"re_{uuid.uuid4().hex[:24]}"
            if self._ledger.transition(
                order_id,
                CHARGE,
                expected=CHARGED,
                status=REFUNDED,
                refundId=text(refund_id),
                refundKey=text(idempotency_key),
            ):
                return CompensationResult(undone=True, detail=f"refunded {item['amount']['N']}")
        raise RuntimeError(f"charge of order {order_id} kept changing; retrying")


class PaymentActivities:
    def __init__(self, *, gateway: PaymentGateway, latency: float = 0.0) -> None:
        self._gateway = gateway
        self._latency = latency

    @activity.defn
    def charge_payment(self, request: ChargeInput) -> ChargeResult:
        simulate_latency(self._latency)
        key = idempotency_key(request.order_id, "charge")
        try:
            result = self._gateway.charge(request, idempotency_key=key)
        except PaymentDeclinedError as exc:
            raise ApplicationError(
                str(exc), type=ErrorType.PAYMENT_DECLINED, non_retryable=True
            ) from None
        except ChargeVoidedError as exc:
            raise ApplicationError(
                str(exc), type=ErrorType.ALREADY_COMPENSATED, non_retryable=True
            ) from None
        activity.logger.info("charged order %s (%s)", request.order_id, result.charge_id)
        return result

    @activity.defn
    def refund_payment(self, request: OrderRef) -> CompensationResult:
        simulate_latency(self._latency)
        key = idempotency_key(request.order_id, "refund")
        return self._gateway.refund(request.order_id, idempotency_key=key)
