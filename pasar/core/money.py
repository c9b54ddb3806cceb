"""Amounts of money as people type them: one parser for every form, CSV file and API.

Singapore writes S$1,234.50: a comma separates thousands in groups of three and the point
separates cents. "28,50" is therefore not an amount (it would otherwise be read as 2,850 or
28.50 depending on who wrote the parser): it is refused with a message that says what was
understood and how to write it. The currency is always SGD, so a leading "S$", "$" or "SGD"
is dropped. Floats are refused: they cannot hold most cent amounts exactly.

Every amount a person or a provider hands the app goes through here:

- `parse_money(value, places=, minimum=, maximum=, what=)` for input: prices, payment amounts
  (2 places) and unit costs (4 places); `parse_amount` underneath reads the text exactly.
- `provider_amount`, `to_cents`, `from_cents`, `as_text` for what gateways send and expect;
  `spread` for an amount shared out in proportion, to the cent.
- `money_field` / `cost_field` for the columns, `MoneyFormField` for forms, `format_sgd` for
  pages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db import models

CENT = Decimal("0.01")
PRICE_PLACES = 2  # prices, payments, refunds: dollars and cents
COST_PLACES = 4  # unit costs: bulk buys cost fractions of a cent
MAX_AMOUNT = Decimal("9999999999.99")  # what NUMERIC(12,2) holds
MAX_UNIT_COST = Decimal("99999999.9999")  # what NUMERIC(12,4) holds

PLAIN = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
GROUPED = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d*)?")
DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")
CURRENCY_PREFIXES = ("SGD", "S$", "$")


class AmountError(ValueError):
    """Not an amount; `message` says why in a sentence, `code` is stable."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _without_currency(text: str) -> str:
    for prefix in CURRENCY_PREFIXES:
        if text.upper().startswith(prefix):
            return text[len(prefix) :].strip()
    return text


def parse_amount(value: Any) -> Decimal:
    """The amount in `value` (a Decimal, an int or text such as "S$1,234.50"), exactly."""
    if isinstance(value, bool):
        raise AmountError(f"'{value}' is not a number.", code="not_a_number")
    if isinstance(value, float):
        raise AmountError(
            f"'{value}' is not an amount: send it as text such as \"12.50\".", code="invalid"
        )
    if isinstance(value, Decimal | int):
        number = Decimal(value)
    else:
        text = _without_currency(str(value).strip()).replace(" ", "")
        if DECIMAL_COMMA.fullmatch(text):
            whole, cents = text.split(",")
            raise AmountError(
                f"'{value}' is not an amount: a comma only separates thousands (1,234.50). "
                f"For {whole} dollars and {cents.ljust(2, '0')} cents, type {whole}.{cents}.",
                code="decimal_comma",
            )
        if "," in text and not GROUPED.fullmatch(text):
            raise AmountError(
                f"'{value}' is not an amount: a comma only separates thousands in groups of "
                "three, as in 1,234.50.",
                code="misplaced_comma",
            )
        if not (PLAIN.fullmatch(text.replace(",", ""))):
            raise AmountError(f"'{value}' is not a number.", code="not_a_number")
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise AmountError(f"'{value}' is not a number.", code="not_a_number") from None
    if not number.is_finite():
        raise AmountError(f"'{value}' is not a number.", code="not_a_number")
    return number


def format_sgd(amount: Decimal) -> str:
    """S$1,234.50: how pages, emails and messages show an amount (negative: -S$4.00)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}S${abs(amount):,.2f}"


def parse_money(
    value: Any,
    *,
    places: int = PRICE_PLACES,
    minimum: Decimal = Decimal(0),
    maximum: Decimal = MAX_AMOUNT,
    what: str = "The amount",
) -> Decimal:
    """An amount typed or sent as input, checked: at most `places` decimal places (never
    rounded away), from `minimum` to `maximum`; returned with exactly `places` places.
    Raises AmountError naming `what` in its sentence."""
    number = parse_amount(value)
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        unit = " (cents)" if places == PRICE_PLACES else ""
        raise AmountError(
            f"{what} has more than {places} decimal places{unit} (got {value}).",
            code="too_precise",
        )
    if number < minimum:
        if minimum == 0:
            raise AmountError(f"{what} cannot be negative (got {value}).", code="negative")
        raise AmountError(f"{what} must be at least {minimum}.", code="too_small")
    if number > maximum:
        raise AmountError(f"{what} is too large (at most {maximum:,}).", code="too_large")
    return number.quantize(Decimal(1).scaleb(-places))


# -- what payment providers send and expect ----------------------------------------------------


def provider_amount(value: Any) -> Decimal | None:
    """A provider's amount ("12.30", 12.3 already parsed as Decimal, or an int) in dollars;
    None when it sent none or something that is not one.

    Floats are refused: callers parse JSON with `parse_float=Decimal`, so a float here means
    precision was already lost.
    """
    if value is None or isinstance(value, bool | float):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    # Pad "12.3" to 12.30, but never round away a digit the provider sent.
    return amount.quantize(CENT) if amount == amount.quantize(CENT) else amount


def to_cents(amount: Decimal) -> int:
    """Dollars with at most two places as integer cents. More places is a caller's bug."""
    cents = amount.scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def as_text(amount: Decimal) -> str:
    """The amount as "12.34", the style form-encoded provider APIs ask for."""
    if amount != amount.quantize(CENT):
        raise ValueError(f"{amount} has more than two decimal places")
    return str(amount.quantize(CENT))


# -- columns and form fields ----------------------------------------------------------------------


def money_field(**options: Any) -> models.DecimalField:
    """NUMERIC(12,2): an amount in dollars and cents."""
    return models.DecimalField(max_digits=12, decimal_places=PRICE_PLACES, **options)


def cost_field(**options: Any) -> models.DecimalField:
    """NUMERIC(12,4): a unit cost."""
    return models.DecimalField(max_digits=12, decimal_places=COST_PLACES, **options)


class MoneyFormField(forms.CharField):
    """A form's amount, read by `parse_money` (so "S$1,234.50" is fine and "28,50" is refused
    with the reason); empty is None when the field is optional."""

    def __init__(
        self,
        *,
        places: int = PRICE_PLACES,
        minimum: Decimal = Decimal(0),
        maximum: Decimal | None = None,
        what: str = "The amount",
        **kwargs: Any,
    ) -> None:
        self.places = places
        self.minimum = minimum
        self.maximum = maximum or (MAX_AMOUNT if places == PRICE_PLACES else MAX_UNIT_COST)
        self.what = what
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_money(
                text,
                places=self.places,
                minimum=self.minimum,
                maximum=self.maximum,
                what=self.what,
            )
        except AmountError as error:
            raise forms.ValidationError(error.message, code=error.code) from None


def spread(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`amount` (whole cents, not more than the weights' sum unless they are all zero and it
    is zero) in shares proportional to `weights`: each share in whole cents, their sum exactly
    `amount`, no share above its weight. The cents left after rounding down go to the largest
    remainders, the earlier weight first on a tie. (A discount over an order's lines, the GST
    of a credit note over its invoice's.)"""
    total = sum(weights, Decimal(0))
    if amount == 0 or total == 0:
        if amount != 0:
            raise ValueError("There is nothing to spread the amount over.")
        return [Decimal("0.00") for _ in weights]
    cents = int(amount / CENT)
    exact = [weight / total * cents for weight in weights]
    floors = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in exact]
    left = cents - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in by_remainder[:left]:
        floors[index] += 1
    return [from_cents(share) for share in floors]
