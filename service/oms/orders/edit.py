"""Order edits before capture (§6g), the workflow side (deterministic, no I/O of its own).

`oms edit` sends new quantities for the order's lines (0 removes one; at least one stays; the
prices are the order's own). The edit waits for the running step to finish and holds the saga
meanwhile, so it never races reservation, authorization or capture; then it reserves or releases
the difference (all or nothing), holds the new total (the old hold voided), records an `edit`
step and emails the new summary. Refused, with nothing changed, once capture has started, when
the new lines are out of stock or the new total is declined.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from oms.orders import money, policies
from oms.orders.activities.edit import EditActivities
from oms.orders.contract import ErrorType
from oms.orders.models import OrderLine, OrderMessage
from oms.orders.payloads import AdjustInput, EditRequest, ReauthorizeInput
from oms.process.policies import Options


class EditRefusedError(Exception):
    """The edit cannot apply; nothing changed. The message is the one-line reason."""


def edited(order: OrderMessage, request: EditRequest) -> OrderMessage:
    """The order with the new quantities, its total in the currency's minor units."""
    unknown = sorted(set(request.items) - {line.sku for line in order.items})
    if unknown:
        raise EditRefusedError(
            f"not in the order: {', '.join(unknown)} (an edit changes quantities of its lines)"
        )
    lines: list[OrderLine] = []
    for line in order.items:
        quantity = request.items.get(line.sku, line.quantity)
        if quantity:
            lines.append(line.model_copy(update={"quantity": quantity}))
    if not lines:
        raise EditRefusedError("at least one line must stay (cancel the order instead)")
    total = sum(
        (money.to_minor(line.unit_price, order.currency) * line.quantity for line in lines), 0
    )
    amount = money.from_minor(total, order.currency)
    return order.model_copy(update={"items": lines, "total_amount": amount})


def quantities(order: OrderMessage) -> dict[str, int]:
    return {line.sku: line.quantity for line in order.items}


def _reason(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.message
    return "the change could not be applied now; try again"


class Revisions:
    """How many changes the reservation and the hold have seen: each adjustment or new hold
    carries the next number, so its retry applies once."""

    def __init__(self) -> None:
        self.stock = 0
        self.hold = 0
        self.edits = 0  # accepted edits (the email's event number)

    async def apply(
        self, order: OrderMessage, new: OrderMessage, *, reserved: bool, authorized: bool
    ) -> str:
        """Reserve the difference, then hold the new total; a refusal of the hold puts the
        stock back. The step record's detail on success."""
        before, after = quantities(order), quantities(new)
        if reserved:
            await self._adjust(order.order_id, before, after, policies.STEP)
        if authorized:
            try:
                await workflow.execute_activity_method(
                    EditActivities.reauthorize_payment,
                    ReauthorizeInput(
                        order_id=order.order_id,
                        revision=self.hold + 1,
                        amount=new.total_amount,
                        currency=order.currency,
                        token=order.payment.token,
                    ),
                    **vars(policies.STEP),
                )
            except ActivityError as error:
                if reserved:  # put the stock back as it was
                    await self._adjust(order.order_id, after, before, policies.MUST_FINISH)
                raise EditRefusedError(_reason(error)) from None
            self.hold += 1
        self.edits += 1
        return f"total {_amount(order)} -> {_amount(new)}"

    async def _adjust(
        self, order_id: str, before: dict[str, int], after: dict[str, int], options: Options
    ) -> None:
        try:
            await workflow.execute_activity_method(
                EditActivities.adjust_reservation,
                AdjustInput(order_id=order_id, revision=self.stock + 1, before=before, after=after),
                **vars(options),
            )
        except ActivityError as error:
            raise EditRefusedError(_reason(error)) from None
        self.stock += 1


def _amount(order: OrderMessage) -> str:
    return f"{order.total_amount} {order.currency}"


def refused(message: str) -> ApplicationError:
    return ApplicationError(message, type=ErrorType.EDIT_REFUSED, non_retryable=True)
