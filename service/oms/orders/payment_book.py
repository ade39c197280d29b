"""The money rules of one order's payment, as pure arithmetic in integer minor units. No I/O.

The gateway asks the book before it moves money and keeps what the book answers, so these rules
are the ones the provider applies (and the property test checks): never capture more than is
authorized, never refund more than is captured, a void or a new authorization only before the
first capture, every amount a positive integer of the currency's minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


class MoneyRuleError(ValueError):
    """The operation would break a money rule: refused, nothing changes."""


@dataclass(frozen=True)
class PaymentBook:
    currency: str
    authorized: int = 0  # the amount the current hold covers
    captured: int = 0
    refunded: int = 0
    voided: bool = False
    holds: int = 0  # authorizations made (a renewal or an edit makes a new one)

    @property
    def capturable(self) -> int:
        return 0 if self.voided else self.authorized - self.captured

    @property
    def refundable(self) -> int:
        return self.captured - self.refunded

    def authorize(self, amount: int) -> PaymentBook:
        """A (new) hold for `amount`, replacing the current one (voided by the caller's
        provider): the first authorization, an edit's new total, or a renewal after expiry."""
        _positive(amount)
        if self.voided:
            raise MoneyRuleError("the payment was voided")
        if self.captured:
            raise MoneyRuleError("capture has started: the hold can no longer change")
        return replace(self, authorized=amount, holds=self.holds + 1)

    def capture(self, amount: int) -> PaymentBook:
        """Capture `amount` of the hold (all of it, or one parcel's share)."""
        _positive(amount)
        if self.voided or not self.holds:
            raise MoneyRuleError("no authorization to capture")
        if amount > self.capturable:
            raise MoneyRuleError(f"capture of {amount} exceeds the {self.capturable} left")
        return replace(self, captured=self.captured + amount)

    def refund(self, amount: int | None) -> tuple[PaymentBook, int]:
        """Refund `amount` (None: all that is left), capped at captured minus refunded; the
        amount actually refunded (0 when nothing is left)."""
        if amount is not None and amount < 0:
            raise MoneyRuleError("a refund cannot be negative")
        give = self.refundable if amount is None else min(amount, self.refundable)
        return replace(self, refunded=self.refunded + give), give

    def void(self) -> PaymentBook:
        """Release the hold; only before any capture (afterwards money moved: refund it)."""
        if self.captured:
            raise MoneyRuleError("captured money is refunded, not voided")
        return replace(self, voided=True)


def _positive(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise MoneyRuleError(f"an amount is a positive integer of minor units, not {amount!r}")
