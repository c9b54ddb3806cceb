"""Amounts of money as people type them: one parser for every form, CSV file and API.

Singapore writes S$1,234.50: a comma separates thousands in groups of three and the point
separates cents. "28,50" is therefore not an amount (it would otherwise be read as 2,850 or
28.50 depending on who wrote the parser): it is refused with a message that says what was
understood and how to write it. The currency is always SGD, so a leading "S$", "$" or "SGD"
is dropped. Floats are refused: they cannot hold most cent amounts exactly.

`parse_amount` returns the exact Decimal typed; callers check places and range, which differ
(prices and payments: 2 places, unit costs: 4).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

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
