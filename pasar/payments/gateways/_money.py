"""Amounts as providers write them, converted exactly: no float ever carries money here."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    """Dollars with at most two places as integer cents. More places is a caller's bug."""
    cents = amount.scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def as_text(amount: Decimal) -> str:
    """The amount as "12.34", the form-field style HitPay asks for."""
    if amount != amount.quantize(CENT):
        raise ValueError(f"{amount} has more than two decimal places")
    return str(amount.quantize(CENT))


def parse_amount(value: Any) -> Decimal | None:
    """A provider's amount ("12.30", 12.3 already parsed as Decimal, or an int) in dollars.

    Floats are refused: callers parse JSON with `parse_float=Decimal`, so a float here means
    precision was already lost.
    """
    if value is None or isinstance(value, bool | float):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    # Pad "12.3" to 12.30, but never round away a digit the provider sent.
    return amount.quantize(CENT) if amount == amount.quantize(CENT) else amount
