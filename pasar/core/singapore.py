"""Singapore's own formats that several contexts check: one rule each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pasar.core.text import has_control_characters

POSTAL_CODE_PATTERN = r"^[0-9]{6}$"  # the database's CHECK uses the same pattern
POSTAL_CODE_MESSAGE = "A Singapore postal code has six digits."


def is_postal_code(text: str) -> bool:
    """Six digits: every Singapore address has one (blank is for the caller to allow)."""
    return len(text) == 6 and text.isascii() and text.isdigit()


# -- addresses ----------------------------------------------------------------------------------

# A block or house number: digits with an optional letter (123, 123A); "Blk"/"Block" typed in
# front is dropped. A unit: floor and unit, "#01-23", "#B1-05" in a basement, "#12-345A".
BLOCK = re.compile(r"(?:BLK|BLOCK)?\s*([0-9]{1,4}[A-Z]?)", re.IGNORECASE)
UNIT = re.compile(r"#?\s*(B?[0-9]{1,3})\s*-\s*([0-9]{1,5}[A-Z]?)", re.IGNORECASE)
MAX_LINE = 100


class AddressError(ValueError):
    """What is wrong with an address, by field (block, street, unit, building, postal_code)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class SingaporeAddress:
    block: str
    street: str
    unit: str  # "#01-23", or "" for a landed house
    building: str
    postal_code: str

    def lines(self) -> list[str]:
        """As a label or a page shows it: "123 Ang Mo Kio Ave 3", "#01-23 Kopi House",
        "Singapore 560123"."""
        second = " ".join(part for part in (self.unit, self.building) if part)
        return [
            line
            for line in (f"{self.block} {self.street}", second, f"Singapore {self.postal_code}")
            if line
        ]


def clean_address(
    *, block: str, street: str, unit: str = "", building: str = "", postal_code: str
) -> SingaporeAddress:
    """A Singapore address as typed, checked and written the usual way; every problem at once
    (AddressError.problems)."""
    problems: dict[str, str] = {}
    fields = {"block": block, "street": street, "unit": unit, "building": building}
    texts = {name: " ".join(str(value or "").split()) for name, value in fields.items()}
    postal = "".join(str(postal_code or "").split())
    for name, text in texts.items():
        if has_control_characters(text):
            problems[name] = "Remove the control characters."
        elif len(text) > MAX_LINE:
            problems[name] = f"At most {MAX_LINE} characters."
    block_match = BLOCK.fullmatch(texts["block"])
    if "block" not in problems and block_match is None:
        problems["block"] = "Enter the block or house number, e.g. 123 or 123A."
    if "street" not in problems and len(texts["street"]) < 2:
        problems["street"] = "Enter the street name."
    unit_match = UNIT.fullmatch(texts["unit"]) if texts["unit"] else None
    if "unit" not in problems and texts["unit"] and unit_match is None:
        problems["unit"] = (
            "Write the unit as #floor-unit, e.g. #01-23 (leave it empty for a house)."
        )
    if not is_postal_code(postal):
        problems["postal_code"] = POSTAL_CODE_MESSAGE
    if problems:
        raise AddressError(problems)
    assert block_match is not None
    unit_text = ""
    if unit_match is not None:
        floor, number = unit_match.groups()
        unit_text = f"#{floor.upper().zfill(2)}-{number.upper()}"
    return SingaporeAddress(
        block=block_match.group(1).upper(),
        street=texts["street"],
        unit=unit_text,
        building=texts["building"],
        postal_code=postal,
    )


# -- GST ----------------------------------------------------------------------------------------

# Every standard rate since GST began, by the Singapore date it took effect
# (../shared/reference/gst.md, section 1). A supply takes the rate of its time of supply.
GST_RATES: tuple[tuple[date, Decimal], ...] = (
    (date(1994, 4, 1), Decimal("0.03")),
    (date(2003, 1, 1), Decimal("0.04")),
    (date(2004, 1, 1), Decimal("0.05")),
    (date(2007, 7, 1), Decimal("0.07")),
    (date(2023, 1, 1), Decimal("0.08")),
    (date(2024, 1, 1), Decimal("0.09")),
)


def gst_rate_on(day: date) -> Decimal:
    """The standard rate on a Singapore date (zero before GST began)."""
    rate = Decimal(0)
    for effective_from, rate_then in GST_RATES:
        if day < effective_from:
            break
        rate = rate_then
    return rate


# The GST tax codes a journal line may carry: the PINT-SG supply categories and the purchase
# codes Singapore's accounting software shares (../shared/reference/gst.md, section 3). The
# GST context maps each to its F5 boxes.
SUPPLY_TAX_CODES = frozenset(
    {"SR", "ZR", "ES33", "ESN33", "DS", "OS", "SRCA-S", "SRCA-C", "SRRC", "SROVR-RS"}
    | {"SROVR-LVG", "SRLVG"}
)
PURCHASE_TAX_CODES = frozenset(
    {"TX", "ZP", "IM", "IGDS", "ME", "TX-E33", "TX-N33", "TX-RE", "TXCA", "TXRC-TS"}
    | {"TXRC-ESS", "TXRC-N33", "TXRC-RE", "IM-ESS", "IM-N33", "IM-RE", "BL", "NR", "EP", "OP"}
)
GST_TAX_CODES = SUPPLY_TAX_CODES | PURCHASE_TAX_CODES
