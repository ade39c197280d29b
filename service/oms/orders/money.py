"""Money in integer minor units per ISO 4217 currency (JPY 0 places, EUR 2, KWD 3). No I/O.

Amounts arrive as decimals (`"12.50"`) and are checked and converted here once; inside the
workflow and in every gateway result they are integers of the currency's minor unit, so no
arithmetic ever rounds. pycountry (our ISO 4217 source for the codes) does not carry the
minor unit, so the exponents are this table.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

# ISO 4217 "Minor unit" column (list one, SIX Group, amendment 179, 2025) for every active code
# whose minor unit is not 2. Codes without a minor unit ("N.A.": XAU, XXX, ...) are not money
# and refused by the order model before they get here.
EXPONENTS: Final[dict[str, int]] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
            "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip
DEFAULT_EXPONENT: Final = 2


class MoneyError(ValueError):
    """An amount the currency cannot express (too many decimal places, not finite)."""


def exponent(currency: str) -> int:
    """How many decimal places the currency's amounts have (its ISO 4217 minor unit)."""
    return EXPONENTS.get(currency, DEFAULT_EXPONENT)


def places(amount: Decimal) -> int:
    """Decimal places written in `amount`, ignoring trailing zeros ("12.50" has 1)."""
    if not amount.is_finite():
        raise MoneyError("not a finite amount")
    exp = amount.normalize().as_tuple().exponent
    assert isinstance(exp, int)  # finite, checked above
    return max(0, -exp)


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` in the currency's minor units; refused when it has more places than those."""
    allowed = exponent(currency)
    if places(amount) > allowed:
        raise MoneyError(f"{amount} has more decimal places than {currency} allows ({allowed})")
    return int(amount.scaleb(allowed))


def from_minor(minor: int, currency: str) -> Decimal:
    """The decimal amount of `minor` units, with exactly the currency's places ("12.50")."""
    allowed = exponent(currency)
    return Decimal(minor).scaleb(-allowed).quantize(Decimal(1).scaleb(-allowed))


def normalised(amount: Decimal, currency: str) -> Decimal:
    """`amount` written with the currency's places (the canonical form of the wire)."""
    return from_minor(to_minor(amount, currency), currency)
