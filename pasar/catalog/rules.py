"""The catalog's input rules, shared by the services, the API and the CSV import.

Each `clean_*` function takes what a person typed and returns the stored value, or raises
`InvalidValue` with a sentence that says what is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pasar.catalog.models import Category, ProductStatus, TaxCode, VariantStatus
from pasar.core.money import (
    COST_PLACES,
    MAX_AMOUNT,
    MAX_UNIT_COST,
    PRICE_PLACES,
    AmountError,
    parse_amount,
    parse_money,
)

SKU_MAX_LENGTH = 64
CATEGORY_PATH_SEPARATOR = ">"  # "Drinks > Coffee" in the CSV and on pages
OPTION_NAME_MAX_LENGTH = 40
OPTION_VALUE_MAX_LENGTH = 80
MAX_OPTIONS = 5
# A spreadsheet treats a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class InvalidValue(ValueError):
    """A value a person entered breaks a catalog rule; the message says which and why."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# -- barcodes -------------------------------------------------------------------------------


def gtin_check_digit(body: str) -> str:
    """The GS1 check digit for the digits of an EAN-13 or UPC-A code without its last digit.

    From the right, digits are weighted 3, 1, 3, 1, ...; the check digit tops the weighted sum
    up to a multiple of ten.
    """
    if not body.isdigit() or not body.isascii():
        raise ValueError("A barcode body is made of digits only.")
    total = sum(
        int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body))
    )
    return str((10 - total % 10) % 10)


def barcode_is_valid(code: str) -> bool:
    """Whether `code` is a 12-digit UPC-A or 13-digit EAN-13 with a correct check digit."""
    if len(code) not in (12, 13) or not code.isascii() or not code.isdigit():
        return False
    return gtin_check_digit(code[:-1]) == code[-1]


def clean_barcode(value: Any) -> str:
    """An EAN-13 or UPC-A barcode, spaces and hyphens removed; blank means none."""
    code = "".join(str(value or "").split()).replace("-", "")
    if not code:
        return ""
    if not code.isascii() or not code.isdigit() or len(code) not in (12, 13):
        raise InvalidValue(
            f"'{value}' is not a barcode: use the 13 digits of an EAN-13 or the 12 of a UPC-A.",
            code="invalid_barcode",
        )
    if not barcode_is_valid(code):
        raise InvalidValue(
            f"'{value}' has a wrong check digit (the last digit should be "
            f"{gtin_check_digit(code[:-1])}); please check it was typed or scanned correctly.",
            code="invalid_barcode",
        )
    return code


# -- money ----------------------------------------------------------------------------------


def clean_price(value: Any) -> Decimal:
    """A selling price in dollars and cents: not negative, at most two decimal places."""
    return _checked(value, what="Price", places=PRICE_PLACES, maximum=MAX_AMOUNT)


def clean_cost(value: Any) -> Decimal:
    """A unit cost: not negative, up to four decimal places (bulk buys cost fractions of cents)."""
    return _checked(value, what="Cost", places=COST_PLACES, maximum=MAX_UNIT_COST)


def _checked(value: Any, *, what: str, places: int, maximum: Decimal) -> Decimal:
    try:
        return parse_money(value, places=places, maximum=maximum, what=what)
    except AmountError as error:
        raise InvalidValue(error.message, code=error.code) from None


def below_cost(*, price: Decimal, cost: Decimal) -> bool:
    """A selling price under the unit cost loses money on every sale (a cost of 0 is unknown)."""
    return cost > 0 and price < cost


def below_cost_warning(*, sku: str, price: Decimal, cost: Decimal) -> str:
    return f"{sku} sells at S${price:,.2f}, below its cost of S${cost:,.4f}: each sale loses money."


# -- identifiers and choices ------------------------------------------------------------------


def clean_sku(value: Any) -> str:
    sku = str(value or "").strip()
    if not sku:
        raise InvalidValue("Every variant needs a SKU.", code="required")
    if len(sku) > SKU_MAX_LENGTH:
        raise InvalidValue(f"A SKU has at most {SKU_MAX_LENGTH} characters.", code="too_long")
    if not sku.isprintable():
        raise InvalidValue(f"'{sku}' contains characters that cannot be printed.")
    if sku.startswith(FORMULA_PREFIXES):
        raise InvalidValue(
            f"'{sku}' starts with '{sku[0]}', which spreadsheets read as a formula; "
            "start the SKU with a letter or digit."
        )
    return sku


def _choice(
    value: Any, choices: type[TaxCode | ProductStatus | VariantStatus], *, what: str
) -> str:
    text = str(value or "").strip()
    for choice in choices:
        if text.casefold() == choice.value.casefold():
            return choice.value
    allowed = ", ".join(choice.value for choice in choices)
    raise InvalidValue(
        f"'{text}' is not a known {what}; use one of {allowed}.", code="unknown_choice"
    )


def clean_tax_code(value: Any) -> str:
    return _choice(value, TaxCode, what="tax code")


def clean_product_status(value: Any) -> str:
    return _choice(value, ProductStatus, what="product status")


def clean_variant_status(value: Any) -> str:
    return _choice(value, VariantStatus, what="variant status")


def clean_options(value: Any) -> dict[str, str]:
    """Variant options such as {"size": "L", "colour": "Black"}: names and values are text."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidValue('Options are name-value pairs, e.g. {"size": "L"}.')
    if len(value) > MAX_OPTIONS:
        raise InvalidValue(f"A variant has at most {MAX_OPTIONS} options.")
    options: dict[str, str] = {}
    for raw_name, raw_value in value.items():
        name = str(raw_name).strip().lower()
        if not name or len(name) > OPTION_NAME_MAX_LENGTH:
            raise InvalidValue(
                f"Option names are 1 to {OPTION_NAME_MAX_LENGTH} characters (got '{raw_name}')."
            )
        if not isinstance(raw_value, str | int | Decimal) or isinstance(raw_value, bool):
            raise InvalidValue(f"The value of option '{name}' must be text.")
        text = str(raw_value).strip()
        if not text or len(text) > OPTION_VALUE_MAX_LENGTH:
            raise InvalidValue(
                f"The value of option '{name}' is 1 to {OPTION_VALUE_MAX_LENGTH} characters."
            )
        if name in options:
            raise InvalidValue(f"Option '{name}' is given twice.")
        options[name] = text
    return options


def clean_whole_number(value: Any, *, what: str) -> int | None:
    """A weight or a dimension: a whole, non-negative number; blank means unknown."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = parse_amount(value)
    except AmountError as error:
        raise InvalidValue(error.message, code=error.code) from None
    if number != number.to_integral_value():
        raise InvalidValue(f"{what} is a whole number (got {value}).", code="not_whole")
    if number < 0:
        raise InvalidValue(f"{what} cannot be negative (got {value}).", code="negative")
    if number > 2_147_483_647:
        raise InvalidValue(f"{what} is too large (got {value}).", code="too_large")
    return int(number)


def search_text(*, product_name: str, options: dict[str, str], sku: str, barcode: str) -> str:
    """The text a variant is found by: its product's name, option values, SKU and barcode."""
    return " ".join(part for part in (product_name, *options.values(), sku, barcode) if part)


def category_path_text(category: Category | None, parents: Mapping[int, Category]) -> str:
    """ "Drinks > Coffee" for a category, given every category of the company by id."""
    names: list[str] = []
    seen: set[int] = set()
    while category is not None and category.pk not in seen:
        seen.add(category.pk)
        names.append(category.name)
        category = parents.get(category.parent_id) if category.parent_id else None
    return f" {CATEGORY_PATH_SEPARATOR} ".join(reversed(names))
