"""ISO 3166 alpha-2 country and ISO 4217 currency codes, from pycountry.

Read once when imported, outside any workflow: pycountry loads its database lazily from disk,
which the workflow sandbox forbids, so the order model validates against these frozen sets.
"""

from __future__ import annotations

from typing import Final

import pycountry

COUNTRIES: Final = frozenset(country.alpha_2 for country in pycountry.countries)
CURRENCIES: Final = frozenset(currency.alpha_3 for currency in pycountry.currencies)
