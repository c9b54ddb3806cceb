"""PayNow QR payloads (SGQR / EMVCo merchant-presented QR): build, read back, render.

A payload is a string of TLV fields `TT LL VALUE` ending in a CRC-16/CCITT-FALSE. `PayNowQR`
holds the values of one dynamic (single-payment) QR, refuses what a bank app would reject, and
writes the payload; `parse_payload` reads any EMVCo payload back into its fields after checking
its structure and CRC; `render_svg` and `render_png` draw it. Nothing here touches the
database or settings: PayNow straight to a UEN has no webhook, so whether the money arrived is
for a gateway or for matching bank lines on the reference to say.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import cast
from zoneinfo import ZoneInfo

import segno
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.sg import uen as stdnum_uen

from pasar.core.errors import DomainError
from pasar.core.money import CENT, AmountError, parse_amount, parse_money

SINGAPORE = ZoneInfo("Asia/Singapore")
PAYNOW_PURPLE = "#7C1A78"

MIN_AMOUNT = CENT
MAX_AMOUNT = Decimal("9999999.99")  # what the QR's 10-character amount field holds
MAX_NAME_LENGTH = 25
MAX_REFERENCE_LENGTH = 25
UNNAMED_MERCHANT = "NA"  # tag 59 is mandatory; "NA" is what PayNow generators write for none

PAYNOW_ID = "SG.PAYNOW"
CURRENCY_SGD = "702"  # ISO 4217 numeric
DYNAMIC = "12"
CRC_TAG = "6304"

# EMVCo templates: merchant account information (26-51), additional data (62), language (64)
# and the unreserved templates (80-99) hold nested TLV fields; every other tag is a plain value.
TEMPLATE_TAGS = frozenset(
    [f"{tag:02d}" for tag in range(26, 52)] + ["62", "64"] + [str(tag) for tag in range(80, 100)]
)

type TLVFields = dict[str, str | dict[str, str]]

_MOBILE = re.compile(r"\+65[89]\d{7}")
_UEN_SUFFIX = re.compile(r"[A-Z0-9]{3}")
_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
_EXPIRY = re.compile(r"\d{8}")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
# Typographic characters that NFKD leaves as non-ASCII but have an obvious ASCII spelling.
_ASCII_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark, the typographic apostrophe
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u00b7": ".",
    }
)


class PayNowError(DomainError, ValueError):
    """Base of the PayNow QR errors; a ValueError too, as bad values are what cause them."""

    code = "paynow_invalid"


class InvalidPayNowQR(PayNowError):
    """A value a PayNow QR cannot carry. `field` names the offending `PayNowQR` field."""

    code = "paynow_invalid_field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details=[{"field": field, "message": message}])
        self.field = field


class MalformedPayNowPayload(PayNowError):
    """A payload whose TLV structure is broken, or that is not a PayNow QR at all."""

    code = "paynow_malformed"


class PayNowChecksumMismatch(MalformedPayNowPayload):
    """The payload's CRC does not match its content: it was altered or cut."""

    code = "paynow_bad_crc"


class ProxyType(StrEnum):
    """What the PayNow proxy (26/02) is; the value is what 26/01 carries."""

    MOBILE = "0"
    UEN = "2"


@dataclass(frozen=True, kw_only=True)
class PayNowQR:
    """One dynamic PayNow QR. Construction validates and normalises every value.

    `amount` None makes the amount editable by the payer; otherwise it is fixed. `expiry` is a
    date, or an aware datetime that becomes its Singapore date. `merchant_name` is made ASCII and
    cut to 25 characters ("NA" when nothing is left); `reference` (the order number that
    reconciliation matches on) loses surrounding spaces but is otherwise refused rather than
    altered when it is not at most 25 printable ASCII characters.
    """

    proxy_type: ProxyType
    proxy_value: str
    amount: Decimal | None = None
    currency: str = "SGD"
    expiry: date | None = None
    merchant_name: str = UNNAMED_MERCHANT
    reference: str = ""

    def __post_init__(self) -> None:
        try:
            proxy_type = ProxyType(self.proxy_type)
        except ValueError as error:
            raise InvalidPayNowQR(
                "proxy_type", "The PayNow proxy type must be 0 (mobile) or 2 (UEN)."
            ) from error
        normalised = {
            "proxy_type": proxy_type,
            "proxy_value": _proxy_value(proxy_type, self.proxy_value),
            "amount": _qr_amount(self.amount, self.currency),
            "currency": "SGD",
            "expiry": _expiry_date(self.expiry),
            "merchant_name": _merchant_name(self.merchant_name),
            "reference": _reference(self.reference),
        }
        for name, value in normalised.items():
            object.__setattr__(self, name, value)

    @property
    def editable(self) -> bool:
        return self.amount is None

    def payload(self) -> str:
        account = [
            _tlv("00", PAYNOW_ID),
            _tlv("01", self.proxy_type.value),
            _tlv("02", self.proxy_value),
            _tlv("03", "1" if self.editable else "0"),
        ]
        if self.expiry is not None:
            account.append(_tlv("04", self.expiry.strftime("%Y%m%d")))
        fields = [
            _tlv("00", "01"),
            _tlv("01", DYNAMIC),
            _tlv("26", "".join(account)),
            _tlv("52", "0000"),
            _tlv("53", CURRENCY_SGD),
        ]
        if self.amount is not None:
            fields.append(_tlv("54", f"{self.amount:.2f}"))
        fields += [_tlv("58", "SG"), _tlv("59", self.merchant_name), _tlv("60", "Singapore")]
        if self.reference:
            fields.append(_tlv("62", _tlv("01", self.reference)))
        body = "".join(fields) + CRC_TAG
        return body + crc16_hex(body)

    @classmethod
    def from_payload(cls, payload: str) -> PayNowQR:
        """Read a dynamic PayNow QR back. Raises MalformedPayNowPayload for a broken payload
        or another kind of QR, InvalidPayNowQR for values this class refuses to build."""
        fields = parse_payload(payload)
        account = paynow_account(fields)
        if fields.get("01") != DYNAMIC:
            raise InvalidPayNowQR(
                "point_of_initiation", "Only dynamic PayNow QRs (point of initiation 12) are read."
            )
        if fields.get("53") != CURRENCY_SGD:
            raise InvalidPayNowQR("currency", "A PayNow QR must be in Singapore dollars (702).")
        amount_text = _text(fields, "54")
        amount = None
        if amount_text is not None:
            if not _AMOUNT.fullmatch(amount_text):
                raise MalformedPayNowPayload(f"The amount {amount_text!r} is not a number.")
            amount = parse_amount(amount_text)
        if account.get("03", "1") == "1" and amount is not None:
            raise InvalidPayNowQR(
                "amount", "An editable QR that also carries an amount is not supported."
            )
        if account.get("03") == "0" and amount is None:
            raise InvalidPayNowQR("amount", "A fixed-amount PayNow QR must carry its amount.")
        expiry_text = account.get("04")
        expiry = None
        if expiry_text is not None:
            if not _EXPIRY.fullmatch(expiry_text):
                raise InvalidPayNowQR("expiry", f"The expiry {expiry_text!r} is not YYYYMMDD.")
            try:
                expiry = datetime.strptime(expiry_text, "%Y%m%d").date()
            except ValueError as error:
                raise InvalidPayNowQR(
                    "expiry", f"The expiry {expiry_text} is not a real date."
                ) from error
        additional = fields.get("62")
        reference = additional.get("01", "") if isinstance(additional, dict) else ""
        return cls(
            proxy_type=cast(ProxyType, account.get("01", "")),
            proxy_value=account.get("02", ""),
            amount=amount,
            expiry=expiry,
            merchant_name=_text(fields, "59") or "",
            reference=reference,
        )


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def crc16_hex(text: str) -> str:
    """The CRC as EMVCo writes it: always 4 upper-case hex digits, leading zeros kept."""
    return f"{crc16_ccitt_false(text.encode('utf-8')):04X}"


def parse_payload(payload: str) -> TLVFields:
    """Split an EMVCo payload into its fields, in order, templates as nested dicts.

    Checks the structure (2-digit tags and lengths, no field running past the end, no tag
    twice, format indicator 01 first, the CRC last) and the CRC itself.
    """
    if len(payload) < 8 or payload[-8:-4] != CRC_TAG:
        raise MalformedPayNowPayload("The payload does not end with a CRC field (6304....).")
    expected = crc16_hex(payload[:-4])
    if payload[-4:] != expected:
        raise PayNowChecksumMismatch(
            f"The payload's CRC is {payload[-4:]!r} but its content gives {expected!r}."
        )
    fields: TLVFields = {}
    for tag, value in _split_tlv(payload):
        fields[tag] = dict(_split_tlv(value, within=tag)) if tag in TEMPLATE_TAGS else value
    if next(iter(fields.items())) != ("00", "01"):
        raise MalformedPayNowPayload("The payload must start with format indicator 000201.")
    if list(fields)[-1] != "63":
        raise MalformedPayNowPayload("The CRC field (63) must be the payload's last field.")
    return fields


def paynow_account(fields: TLVFields) -> dict[str, str]:
    """The merchant account template (any of 26-51) whose id is SG.PAYNOW."""
    for tag in sorted(fields):
        template = fields[tag]
        if "26" <= tag <= "51" and isinstance(template, dict) and template.get("00") == PAYNOW_ID:
            return template
    raise MalformedPayNowPayload("The payload has no PayNow (SG.PAYNOW) merchant account.")


def render_svg(payload: str, *, scale: int = 4, dark: str = PAYNOW_PURPLE) -> str:
    """A standalone SVG document (no XML declaration, so it can also go inline in HTML)."""
    buffer = io.BytesIO()
    _qr_code(payload).save(
        buffer, kind="svg", scale=scale, dark=dark, xmldecl=False, title="PayNow QR code"
    )
    return buffer.getvalue().decode("utf-8")


def render_png(payload: str, *, scale: int = 8, dark: str = "#000000") -> bytes:
    buffer = io.BytesIO()
    _qr_code(payload).save(buffer, kind="png", scale=scale, dark=dark)
    return buffer.getvalue()


def _qr_code(payload: str) -> segno.QRCode:
    # Refuse to draw a payload a bank app would reject; level M is what SGQR asks for, kept
    # fixed (no boosting) so the same payload always gives the same picture. segno's default
    # border is the 4-module quiet zone the QR standard requires.
    parse_payload(payload)
    return segno.make_qr(payload, error="m", boost_error=False)


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def _split_tlv(text: str, *, within: str = "") -> list[tuple[str, str]]:
    where = f" inside template {within}" if within else ""
    fields: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        header = text[position : position + 4]
        if len(header) < 4 or not header.isdigit() or not header.isascii():
            raise MalformedPayNowPayload(
                f"Expected a 2-digit tag and 2-digit length at position {position}{where}, "
                f"found {header!r}."
            )
        tag, length = header[:2], int(header[2:])
        value = text[position + 4 : position + 4 + length]
        if len(value) < length:
            raise MalformedPayNowPayload(
                f"Field {tag}{where} claims {length} characters but only {len(value)} remain."
            )
        if any(tag == seen for seen, _ in fields):
            raise MalformedPayNowPayload(f"Field {tag} occurs twice{where}.")
        fields.append((tag, value))
        position += 4 + length
    return fields


def _text(fields: TLVFields, tag: str) -> str | None:
    value = fields.get(tag)
    if isinstance(value, dict):
        raise MalformedPayNowPayload(f"Field {tag} must be a plain value.")
    return value


def _proxy_value(proxy_type: ProxyType, value: str) -> str:
    compact = re.sub(r"[\s-]", "", value).upper()
    if proxy_type is ProxyType.MOBILE:
        if not _MOBILE.fullmatch(compact):
            raise InvalidPayNowQR(
                "proxy_value",
                f"{value!r} is not a Singapore mobile number (+65 and 8 digits from 8 or 9).",
            )
        return compact
    # A company may register its UEN with a 3-character suffix per bank account
    # (e.g. 201403121W001); the UEN part must still be valid.
    uen = compact[:-3] if len(compact) in (12, 13) else compact
    suffix = compact[len(uen) :]
    try:
        stdnum_uen.validate(uen)
    except StdnumValidationError as error:
        raise InvalidPayNowQR("proxy_value", f"{value!r} is not a valid UEN: {error}") from error
    if suffix and not _UEN_SUFFIX.fullmatch(suffix):
        raise InvalidPayNowQR(
            "proxy_value", f"The UEN suffix {suffix!r} must be 3 letters or digits."
        )
    return compact


def _qr_amount(amount: Decimal | None, currency: str) -> Decimal | None:
    if currency != "SGD":
        raise InvalidPayNowQR("currency", f"PayNow moves Singapore dollars only, not {currency}.")
    if amount is None:
        return None
    if not isinstance(amount, Decimal):
        raise InvalidPayNowQR("amount", f"The amount must be a Decimal, not {amount!r}.")
    try:
        return parse_money(amount, minimum=MIN_AMOUNT, maximum=MAX_AMOUNT, what="The amount")
    except AmountError as error:
        raise InvalidPayNowQR("amount", error.message) from None


def _expiry_date(expiry: date | None) -> date | None:
    if isinstance(expiry, datetime):
        if expiry.tzinfo is None or expiry.utcoffset() is None:
            raise InvalidPayNowQR(
                "expiry", "An expiry datetime must carry its time zone; a naive one is ambiguous."
            )
        return expiry.astimezone(SINGAPORE).date()
    return expiry


def _merchant_name(name: str) -> str:
    # Bank apps show the name registered to the proxy; tag 59 only has to be readable ASCII,
    # so accents are dropped and characters with no ASCII spelling left out.
    decomposed = unicodedata.normalize("NFKD", name.translate(_ASCII_LOOKALIKES))
    ascii_only = "".join(char for char in decomposed if " " <= char <= "~" or char.isspace())
    collapsed = " ".join(ascii_only.split())
    return collapsed[:MAX_NAME_LENGTH].rstrip() or UNNAMED_MERCHANT


def _reference(reference: str) -> str:
    reference = reference.strip()
    if not _PRINTABLE_ASCII.fullmatch(reference):
        raise InvalidPayNowQR(
            "reference",
            f"The payment reference {reference!r} may hold only printable ASCII characters.",
        )
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise InvalidPayNowQR(
            "reference",
            f"The payment reference {reference!r} is {len(reference)} characters; "
            f"PayNow allows {MAX_REFERENCE_LENGTH}.",
        )
    return reference
