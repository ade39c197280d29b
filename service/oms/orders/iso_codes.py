"""ISO 3166 alpha-2 country and ISO 4217 currency codes, from pycountry.

Read once when imported, outside any workflow: pycountry loads its database lazily from disk,
which the workflow sandbox forbids, so the order model validates against these frozen sets.
"""

from __future__ import annotations

from typing import Final

import pycountry

COUNTRIES: Final = frozenset(country.alpha_2 for country in pycountry.countries)
# ISO 4217 also lists codes that are not money a shop can charge: precious metals, funds,
# special drawing rights, the testing code and "no currency".
NOT_MONEY: Final = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)
CURRENCIES: Final = frozenset(c.alpha_3 for c in pycountry.currencies) - NOT_MONEY
