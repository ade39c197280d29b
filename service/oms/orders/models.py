"""The order message: camelCase on the wire, snake_case in Python. No I/O.

Money is `Decimal` on the wire (never float arithmetic), with at most its currency's ISO 4217
minor-unit places and normalised to exactly those (`oms.orders.money`), so the same order always
has the same canonical form and fingerprint; `total_minor` is the integer the workflow uses.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from oms.orders import money
from oms.orders.iso_codes import COUNTRIES, CURRENCIES

MAX_BODY_BYTES: Final = 64 * 1024
ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class InvalidOrderError(ValueError):
    """The message breaks the order contract; `reason` says which rule, naming the field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Numbers and strings are both accepted ("12.50", 12.5); the places allowed depend on the
# currency, checked (and normalised) by the order (`OrderMessage._in_minor_units`).
Money = Annotated[Decimal, Field(ge=0, max_digits=15, allow_inf_nan=False)]
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def _code_in(codes: frozenset[str], standard: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in codes:
            raise ValueError(f"not an {standard} code")
        return value

    return AfterValidator(check)


MAX_LOCAL_PART: Final = 64


def ses_address(value: str) -> str:
    """An address SES accepts: ASCII local part of at most 64 characters, the domain in its
    ASCII (punycode) form. The one email validator of the product (orders and settings)."""
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address SES accepts ({exc})") from None
    local = checked.ascii_email.rpartition("@")[0] if checked.ascii_email else ""
    if not checked.ascii_email or len(local) > MAX_LOCAL_PART:
        raise ValueError(f"the part before @ may have at most {MAX_LOCAL_PART} characters")
    return checked.ascii_email


EmailAddress = Annotated[str, StringConstraints(max_length=254), AfterValidator(ses_address)]

CountryCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2}$"), _code_in(COUNTRIES, "ISO 3166 alpha-2 country")
]
CurrencyCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), _code_in(CURRENCIES, "ISO 4217 currency")
]
# Refused in names and addresses: control characters (NUL, escapes, line breaks), line and
# paragraph separators, unassigned and private code points, surrogates, and the bidirectional
# overrides that make a label read differently than it is (zero-width joiners, which scripts
# such as Persian need, stay allowed).
_NOT_TEXT: Final = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_BIDI_CONTROLS: Final = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def printable(value: str) -> str:
    for char in value:
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _NOT_TEXT:
            raise ValueError(f"only printable text is allowed, found U+{ord(char):04X}")
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(printable),
]


class WireModel(BaseModel):
    """Base of every wire model: camelCase aliases, unknown fields rejected, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Address(WireModel):
    line1: Text
    line2: Text | None = None
    city: Text
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=16), AfterValidator(printable)
    ]
    country: CountryCode


class Customer(WireModel):
    id: Identifier
    name: Text
    email: EmailAddress
    address: Address


class OrderLine(WireModel):
    sku: Identifier
    quantity: Annotated[int, Field(strict=True, ge=1, le=999)]
    unit_price: Money

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


class Payment(WireModel):
    # Cards only: the gateway holds and captures card payments (§4); anything else is refused.
    method: Literal["card"]
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(repr=False)


class OrderMessage(WireModel):
    order_id: Identifier
    customer: Customer
    # Before the amounts, so their validators know the currency's minor unit.
    currency: CurrencyCode
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]
    payment: Payment
    total_amount: Money

    @field_validator("items", mode="after")
    @classmethod
    def _prices_in_minor_units(
        cls, items: list[OrderLine], info: ValidationInfo
    ) -> list[OrderLine]:
        currency = info.data.get("currency")
        if currency is None:
            return items  # the currency itself is invalid (reported on its own)
        checked = []
        for index, line in enumerate(items):
            try:
                price = money.normalised(line.unit_price, currency)
            except money.MoneyError as exc:
                raise ValueError(f"items[{index}].unitPrice: {exc}") from None
            checked.append(line.model_copy(update={"unit_price": price}))
        return checked

    @field_validator("total_amount", mode="after")
    @classmethod
    def _total_in_minor_units(cls, total: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        if total <= 0:
            raise ValueError("must be greater than 0")
        if currency is None:
            return total
        try:
            return money.normalised(total, currency)
        except money.MoneyError as exc:
            raise ValueError(str(exc)) from None

    @property
    def total_minor(self) -> int:
        """The total in the currency's minor units (what is authorized and captured)."""
        return money.to_minor(self.total_amount, self.currency)

    @model_validator(mode="after")
    def _consistent(self) -> OrderMessage:
        skus = [line.sku for line in self.items]
        duplicated = sorted({sku for sku in skus if skus.count(sku) > 1})
        if duplicated:
            raise ValueError(f"items: each SKU may appear once, repeated: {', '.join(duplicated)}")
        expected = money.normalised(
            sum((line.amount for line in self.items), Decimal(0)), self.currency
        )
        if expected != self.total_amount:
            raise ValueError(
                f"totalAmount: {self.total_amount} does not equal the sum of "
                f"quantity * unitPrice ({expected})"
            )
        return self

    def fingerprint(self) -> str:
        """SHA-256 of the canonical body: equal for redeliveries, different for a conflict."""
        canonical = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _describe(error: Any) -> str:
    location = ""
    for part in error["loc"]:
        location += f"[{part}]" if isinstance(part, int) else (f".{part}" if location else part)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "json_invalid":
        return f"body is not valid JSON: {error.get('ctx', {}).get('error', message)}"
    if not location or message.startswith((f"{location}:", f"{location}[")):
        return message
    return f"{location}: {message}"


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Reject a body that names a key twice: with "last one wins" a body naming two order ids
    would start the second."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeyError(f"duplicate key {key[:40]!r}")
        seen[key] = value
    return seen


def _printable(text: str, limit: int = 300) -> str:
    """Reasons may quote the input: no control characters, bounded."""
    return "".join(c if c.isprintable() else "?" for c in text)[:limit]


def parse_order(body: str | bytes) -> OrderMessage:
    """Parse and validate an SQS message body; raise `InvalidOrderError` with every problem."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidOrderError(f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        document = json.loads(raw, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:
        raise InvalidOrderError(f"body is not valid JSON: {_printable(str(exc))}") from None
    if isinstance(document, dict) and document.get("type") == "order":  # §4: message types
        del document["type"]
    try:
        return OrderMessage.model_validate(document, by_alias=True)
    except ValidationError as exc:
        raise InvalidOrderError("; ".join(_describe(e) for e in exc.errors())) from None
