"""Which F5 boxes each GST tax code feeds (../shared/reference/gst.md, section 3, as Odoo's
and NetSuite's Singapore localisations map them). A code's value (the amount without GST) goes
to its value boxes, its GST to its tax box; codes with no box are not reported."""

from __future__ import annotations

from dataclasses import dataclass

from pasar.core.singapore import GST_TAX_CODES


@dataclass(frozen=True)
class CodeBoxes:
    value_boxes: tuple[int, ...] = ()
    tax_box: int | None = None


BOXES: dict[str, CodeBoxes] = {
    # Supplies
    "SR": CodeBoxes((1,), 6),
    "DS": CodeBoxes((1,), 6),
    "SRCA-S": CodeBoxes((1,)),  # the customer accounts for the GST
    "SRCA-C": CodeBoxes((1,), 6),
    "SRRC": CodeBoxes((1, 14), 6),
    "SROVR-RS": CodeBoxes((1, 15), 6),
    "SROVR-LVG": CodeBoxes((1, 16), 6),
    "SRLVG": CodeBoxes((1, 17), 6),
    "ZR": CodeBoxes((2,)),
    "ES33": CodeBoxes((3,)),
    "ESN33": CodeBoxes((3,)),
    "OS": CodeBoxes(),
    # Purchases
    "TX": CodeBoxes((5,), 7),
    "ZP": CodeBoxes((5,)),
    "IM": CodeBoxes((5,), 7),
    "IGDS": CodeBoxes((5, 21), 7),  # its deferred import GST is Box 19 (not posted here yet)
    "ME": CodeBoxes((5, 9)),
    "TX-E33": CodeBoxes((5,), 7),
    "TX-N33": CodeBoxes((5,), 7),
    "TX-RE": CodeBoxes((5,), 7),
    "TXCA": CodeBoxes((5,), 7),
    "TXRC-TS": CodeBoxes((5,), 7),
    "TXRC-ESS": CodeBoxes((5,), 7),
    "TXRC-N33": CodeBoxes((5,), 7),
    "TXRC-RE": CodeBoxes((5,), 7),
    "IM-ESS": CodeBoxes((5,), 7),
    "IM-N33": CodeBoxes((5,), 7),
    "IM-RE": CodeBoxes((5,), 7),
    "BL": CodeBoxes(),  # disallowed input tax: in neither Box 5 nor Box 7
    "NR": CodeBoxes(),
    "EP": CodeBoxes(),
    "OP": CodeBoxes(),
}

if set(BOXES) != GST_TAX_CODES:  # pragma: no cover - a programming error, caught at import
    raise RuntimeError("Every GST tax code needs its F5 boxes, and no other code has any.")


# What each box of the F5 says (gst.md, section 4), for the return's PDF and pages.
BOX_LABELS: dict[int, str] = {
    1: "Total value of standard-rated supplies",
    2: "Total value of zero-rated supplies",
    3: "Total value of exempt supplies",
    4: "Total value of (1) + (2) + (3)",
    5: "Total value of taxable purchases",
    6: "Output tax due",
    7: "Less: input tax and refunds claimed",
    8: "Equals: net GST to be paid to / claimed from IRAS",
    9: "Total value of goods imported under import GST suspension schemes",
    10: "GST refunded to tourists claimed",
    11: "Bad debt relief and reverse charge refund claims",
    12: "Pre-registration claims",
    13: "Revenue for the accounting period",
    14: "Imported services and low-value goods under reverse charge",
    15: "Remote services supplied as an electronic marketplace",
    16: "Imported low-value goods as a redeliverer or electronic marketplace",
    17: "Own supplies of imported low-value goods",
    18: "Net GST per box 8",
    19: "Add: deferred import GST payable",
    20: "Equals: total tax to be paid to / claimed from IRAS",
    21: "Total value of goods imported under IGDS",
}
