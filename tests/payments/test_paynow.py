"""PayNow QR payloads: the published vectors, the CRC, round trips, rendering, bad input.

Pure Python: no database.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from pyzbar.pyzbar import decode
from stdnum.sg import uen as stdnum_uen

from pasar.core.errors import DomainError
from pasar.payments.gateways.paynow import (
    PAYNOW_PURPLE,
    InvalidPayNowQR,
    MalformedPayNowPayload,
    PayNowChecksumMismatch,
    PayNowQR,
    ProxyType,
    crc16_ccitt_false,
    crc16_hex,
    parse_payload,
    render_png,
    render_svg,
)

# Verified vectors from /work/shared/reference/payments.md, section 1.
ODOO = (
    "00020101021226400009SG.PAYNOW010120213200002150HWCF0301052040000530370254031005802SG"
    "5914company_1_data6009Singapore62170113INV/TEST/0001630416C8"
)
JAVA = (
    "00020101021226370009SG.PAYNOW010120210201207337D03010520400005303702540510.005802SG"
    "5916Nerdherd Pte Ltd6009Singapore6304F832"
)
JAVASCRIPT = (
    "00020101021126370009SG.PAYNOW010120210201023709P030105204000053037025406515.985802SG"
    "5902NA6009Singapore62320128Payment reference XX123456786304CFEB"
)
KOTLIN = (
    "00020101021126490009SG.PAYNOW010120210201403121W030110408203012315204000053037025802SG"
    "5913ACME Pte Ltd.6009Singapore6304B69E"
)
BLOG = (
    "00020101021226370009SG.PAYNOW010120210T08SS0080L030115204000053037025802SG"
    "5910My Company6009Singapore62200116Some Payment Ref63046B56"
)
VECTORS = [ODOO, JAVA, JAVASCRIPT, KOTLIN, BLOG]

# Built by PayNowQR and checked by CRC: its CRC starts with two zeros.
LEADING_ZERO_CRC = (
    "00020101021226370009SG.PAYNOW010120210201403121W03010520400005303702540525.905802SG"
    "5917Kopi Test Pte Ltd6009Singapore62130109SO-00014563040018"
)

COMPANY_UEN = "201403121W"

property_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def with_crc(body: str) -> str:
    """Close a hand-made payload with a correct CRC, so only its structure is under test."""
    return body + "6304" + crc16_hex(body + "6304")


def order_qr(**overrides: object) -> PayNowQR:
    values: dict[str, object] = {
        "proxy_type": ProxyType.UEN,
        "proxy_value": COMPANY_UEN,
        "amount": Decimal("25.90"),
        "merchant_name": "Kopi Test Pte Ltd",
        "reference": "SO-000145",
    }
    values.update(overrides)
    return PayNowQR(**values)  # type: ignore[arg-type]


def without_initiation_and_crc(payload: str) -> dict[str, object]:
    fields: dict[str, object] = dict(parse_payload(payload))
    del fields["01"], fields["63"]
    return fields


# --- the published vectors ---------------------------------------------------------------


@pytest.mark.parametrize("payload", VECTORS)
def test_every_published_vector_parses_and_its_crc_checks(payload: str) -> None:
    fields = parse_payload(payload)

    assert fields["63"] == crc16_hex(payload[:-4]) == payload[-4:]
    account = fields["26"]
    assert isinstance(account, dict)
    assert account["00"] == "SG.PAYNOW"
    assert (fields["52"], fields["53"], fields["58"], fields["60"]) == (
        "0000",
        "702",
        "SG",
        "Singapore",
    )


def test_published_vectors_read_as_nested_fields() -> None:
    assert parse_payload(BLOG) == {
        "00": "01",
        "01": "12",
        "26": {"00": "SG.PAYNOW", "01": "2", "02": "T08SS0080L", "03": "1"},
        "52": "0000",
        "53": "702",
        "58": "SG",
        "59": "My Company",
        "60": "Singapore",
        "62": {"01": "Some Payment Ref"},
        "63": "6B56",
    }


@pytest.mark.parametrize("payload", [JAVA, BLOG])
def test_builder_reproduces_the_dynamic_vectors_exactly(payload: str) -> None:
    assert PayNowQR.from_payload(payload).payload() == payload


def test_builder_reproduces_fixed_amount_vector_with_a_fixed_amount_and_no_reference() -> None:
    qr = PayNowQR(
        proxy_type=ProxyType.UEN,
        proxy_value="201207337D",
        amount=Decimal("10"),
        merchant_name="Nerdherd Pte Ltd",
    )
    assert qr.payload() == JAVA


def test_builder_reproduces_editable_vector_with_a_reference() -> None:
    qr = PayNowQR(
        proxy_type=ProxyType.UEN,
        proxy_value="T08SS0080L",
        merchant_name="My Company",
        reference="Some Payment Ref",
    )
    assert qr.editable
    assert qr.payload() == BLOG


def test_odoo_vector_differs_only_in_writing_the_amount_without_cents() -> None:
    # Odoo writes tag 54 as "100"; the builder always writes two decimals ("100.00").
    # The proxy is a UEN with a 3-character account suffix (200002150H + WCF).
    qr = PayNowQR.from_payload(ODOO)
    assert qr.proxy_value == "200002150HWCF"
    assert qr.amount == Decimal("100")

    rebuilt = parse_payload(qr.payload())
    original = parse_payload(ODOO)
    assert original["54"] == "100"
    assert rebuilt["54"] == "100.00"
    for fields in (rebuilt, original):
        del fields["54"], fields["63"]
    assert rebuilt == original


def test_kotlin_vector_differs_only_in_being_static() -> None:
    # Point of initiation 11 (static) with an expiry; the builder makes dynamic QRs (12) only.
    with pytest.raises(InvalidPayNowQR) as refused:
        PayNowQR.from_payload(KOTLIN)
    assert refused.value.field == "point_of_initiation"

    qr = PayNowQR(
        proxy_type=ProxyType.UEN,
        proxy_value="201403121W",
        expiry=date(2030, 12, 31),
        merchant_name="ACME Pte Ltd.",
    )
    assert parse_payload(qr.payload())["01"] == "12"
    assert without_initiation_and_crc(qr.payload()) == without_initiation_and_crc(KOTLIN)


def test_javascript_vector_cannot_be_rebuilt() -> None:
    # Static (11), a 28-character reference (PayNow allows 25) and a UEN whose check letter
    # python-stdnum rejects: the builder refuses each of these.
    assert parse_payload(JAVASCRIPT)["01"] == "11"
    with pytest.raises(InvalidPayNowQR) as bad_uen:
        order_qr(proxy_value="201023709P")
    assert bad_uen.value.field == "proxy_value"
    with pytest.raises(InvalidPayNowQR) as long_reference:
        order_qr(reference="Payment reference XX12345678")
    assert long_reference.value.field == "reference"


# --- CRC ---------------------------------------------------------------------------------


def test_crc_check_value_of_123456789_is_29b1() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_hex("123456789") == "29B1"


def test_crc_starting_with_zero_keeps_its_leading_zeros() -> None:
    assert order_qr().payload() == LEADING_ZERO_CRC
    assert LEADING_ZERO_CRC.endswith("63040018")
    assert parse_payload(LEADING_ZERO_CRC)["63"] == "0018"


def test_crc_covers_the_literal_6304() -> None:
    payload = order_qr().payload()
    assert payload[-4:] == crc16_hex(payload[:-4])
    assert payload[-8:-4] == "6304"


# --- building ----------------------------------------------------------------------------


def test_fixed_amount_qr_has_every_sgqr_field() -> None:
    qr = order_qr(expiry=date(2026, 12, 1))

    assert not qr.editable
    assert parse_payload(qr.payload()) == {
        "00": "01",
        "01": "12",
        "26": {
            "00": "SG.PAYNOW",
            "01": "2",
            "02": COMPANY_UEN,
            "03": "0",
            "04": "20261201",
        },
        "52": "0000",
        "53": "702",
        "54": "25.90",
        "58": "SG",
        "59": "Kopi Test Pte Ltd",
        "60": "Singapore",
        "62": {"01": "SO-000145"},
        "63": qr.payload()[-4:],
    }


def test_expiry_datetime_becomes_its_singapore_date() -> None:
    # 17:30 UTC on 30 November is 01:30 on 1 December in Singapore.
    qr = order_qr(expiry=datetime(2026, 11, 30, 17, 30, tzinfo=UTC))
    assert qr.expiry == date(2026, 12, 1)
    account = parse_payload(qr.payload())["26"]
    assert isinstance(account, dict)
    assert account["04"] == "20261201"

    same_day = order_qr(expiry=datetime(2026, 11, 30, 15, 59, tzinfo=UTC))
    assert same_day.expiry == date(2026, 11, 30)


def test_expiry_in_another_zone_is_converted_too() -> None:
    new_york = timezone(timedelta(hours=-5))
    qr = order_qr(expiry=datetime(2026, 11, 30, 12, 0, tzinfo=new_york))
    assert qr.expiry == date(2026, 12, 1)


def test_mobile_proxy_is_normalised_and_round_trips() -> None:
    qr = order_qr(proxy_type=ProxyType.MOBILE, proxy_value="+65 9123-4567")

    assert qr.proxy_value == "+6591234567"
    account = parse_payload(qr.payload())["26"]
    assert account == {"00": "SG.PAYNOW", "01": "0", "02": "+6591234567", "03": "0"}
    assert PayNowQR.from_payload(qr.payload()) == qr


def test_uen_with_an_account_suffix_is_accepted() -> None:
    assert order_qr(proxy_value="t08ss0080l001").proxy_value == "T08SS0080L001"


def test_merchant_name_is_transliterated_and_cut_to_25_characters() -> None:
    qr = order_qr(merchant_name="  Café Ñandú — 咖啡店  “Kopi” Pte. Ltd.")
    assert qr.merchant_name == 'Cafe Nandu - "Kopi" Pte.'
    assert len(order_qr(merchant_name="A" * 40).merchant_name) == 25


def test_merchant_name_with_nothing_ascii_left_becomes_na() -> None:
    assert order_qr(merchant_name="咖啡店").merchant_name == "NA"


def test_without_a_reference_there_is_no_additional_data_field() -> None:
    assert "62" not in parse_payload(order_qr(reference="").payload())


# --- properties --------------------------------------------------------------------------


def _local_company_uen(year: int, serial: int) -> str:
    digits = f"{year:04d}{serial:05d}"
    return digits + stdnum_uen.calc_local_company_check_digit(digits)


def _business_uen(serial: int) -> str:
    digits = f"{serial:08d}"
    return digits + stdnum_uen.calc_business_check_digit(digits)


def _other_entity_uen(year: int, kind: str, serial: int) -> str:
    body = f"T{year % 100:02d}{kind}{serial:04d}"
    return body + stdnum_uen.calc_other_check_digit(body)


uens = st.one_of(
    st.builds(_local_company_uen, st.integers(1970, 2025), st.integers(0, 99_999)),
    st.builds(_business_uen, st.integers(0, 99_999_999)),
    st.builds(
        _other_entity_uen,
        st.integers(2000, 2025),
        st.sampled_from(stdnum_uen.OTHER_UEN_ENTITY_TYPES),
        st.integers(0, 9_999),
    ),
)
suffixes = st.one_of(st.just(""), st.from_regex(r"[A-Z0-9]{3}", fullmatch=True))
amounts = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2),
)
references = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=25
).map(str.strip)
expiries = st.one_of(st.none(), st.dates(min_value=date(2020, 1, 1), max_value=date(2099, 12, 31)))
names = st.text(max_size=40)


@property_settings
@given(
    uen=uens,
    suffix=suffixes,
    amount=amounts,
    reference=references,
    expiry=expiries,
    name=names,
)
def test_any_valid_qr_parses_back_to_the_same_fields(
    uen: str, suffix: str, amount: Decimal | None, reference: str, expiry: date | None, name: str
) -> None:
    qr = PayNowQR(
        proxy_type=ProxyType.UEN,
        proxy_value=uen + suffix,
        amount=amount,
        expiry=expiry,
        merchant_name=name,
        reference=reference,
    )
    payload = qr.payload()
    fields = parse_payload(payload)

    assert payload.isascii()
    assert re.fullmatch(r"[0-9A-F]{4}", payload[-4:])
    assert fields["63"] == crc16_hex(payload[:-4])
    assert fields["54" if amount is not None else "53"] == (
        f"{amount:.2f}" if amount is not None else "702"
    )
    if reference:
        assert fields["62"] == {"01": reference}
    account = fields["26"]
    assert isinstance(account, dict)
    assert account["02"] == uen + suffix
    assert account["03"] == ("1" if amount is None else "0")
    assert 1 <= len(str(fields["59"])) <= 25
    assert PayNowQR.from_payload(payload) == qr


@property_settings
@given(
    moment=st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-10))]),
    )
)
def test_expiry_is_the_singapore_date_of_any_aware_datetime(moment: datetime) -> None:
    singapore = timezone(timedelta(hours=8))  # Singapore has kept UTC+8 since 1982
    qr = order_qr(expiry=moment)
    assert qr.expiry == moment.astimezone(singapore).date()
    assert PayNowQR.from_payload(qr.payload()) == qr


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("0.00")}, "amount"),
        ({"amount": Decimal("-1.00")}, "amount"),
        ({"amount": Decimal("10.005")}, "amount"),
        ({"amount": Decimal("10000000.00")}, "amount"),
        ({"amount": Decimal("NaN")}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"reference": "SO-" + "9" * 23}, "reference"),
        ({"reference": "SO-000145é"}, "reference"),
        ({"reference": "SO-\n000145"}, "reference"),
        ({"proxy_value": "201912345K"}, "proxy_value"),
        ({"proxy_value": "12345"}, "proxy_value"),
        ({"proxy_value": "2014031211W"}, "proxy_value"),
        ({"proxy_value": "201403121W0!1"}, "proxy_value"),
        ({"proxy_type": ProxyType.MOBILE, "proxy_value": "+6512345678"}, "proxy_value"),
        ({"proxy_type": ProxyType.MOBILE, "proxy_value": "91234567"}, "proxy_value"),
        ({"proxy_type": "5"}, "proxy_type"),
        ({"expiry": datetime(2026, 12, 1, 10, 0)}, "expiry"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(
    overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidPayNowQR) as refused:
        order_qr(**overrides)
    assert refused.value.field == field
    assert refused.value.details == [{"field": field, "message": refused.value.message}]


def test_refusals_are_value_errors_and_domain_errors_with_a_stable_code() -> None:
    with pytest.raises(ValueError, match="PayNow allows 25") as refused:
        order_qr(reference="R" * 26)
    assert isinstance(refused.value, DomainError)
    assert refused.value.code == "paynow_invalid_field"
    assert refused.value.status == 400


def test_three_decimal_amount_equal_to_whole_cents_is_accepted() -> None:
    assert (
        order_qr(amount=Decimal("10.500")).payload() == order_qr(amount=Decimal("10.5")).payload()
    )


def test_altered_payload_fails_the_crc_check() -> None:
    tampered = JAVA.replace("10.00", "90.00")
    with pytest.raises(PayNowChecksumMismatch, match="CRC"):
        parse_payload(tampered)


def test_lower_case_crc_is_refused() -> None:
    with pytest.raises(PayNowChecksumMismatch):
        parse_payload(BLOG[:-4] + BLOG[-4:].lower())


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "does not end with a CRC"),
        (JAVA[:-6], "does not end with a CRC"),
        (with_crc("0002010102125999ab"), "claims 99 characters"),
        (with_crc("0002010102120102125802SG"), "occurs twice"),
        (with_crc("0102120002015802SG"), "format indicator"),
        (with_crc("00020126150009SG.PAYNOW01"), "inside template 26"),
        (with_crc("000201AB0212"), "2-digit tag"),
        ("00020163040000" + "5802SG" + "6304" + crc16_hex("000201630400005802SG6304"), "twice"),
    ],
)
def test_malformed_payload_is_refused(payload: str, message: str) -> None:
    with pytest.raises(MalformedPayNowPayload, match=message):
        parse_payload(payload)


def test_crc_must_be_the_last_field() -> None:
    # The name's value swallows what looks like the CRC field at the end.
    body = "0002015802SG5912abcd6304"
    with pytest.raises(MalformedPayNowPayload, match="last field"):
        parse_payload(body + crc16_hex(body))


def test_reading_a_payload_without_a_paynow_account_is_refused() -> None:
    with pytest.raises(MalformedPayNowPayload, match=r"SG\.PAYNOW"):
        PayNowQR.from_payload(with_crc("00020101021226150011SG.OTHERNOW5303702"))


# --- rendering ---------------------------------------------------------------------------


def _decoded(image: Image.Image) -> list[str]:
    return [symbol.data.decode("ascii") for symbol in decode(image)]


@pytest.mark.parametrize("payload", [LEADING_ZERO_CRC, BLOG, ODOO])
def test_png_decodes_back_to_the_exact_payload(payload: str) -> None:
    png = render_png(payload, scale=6)
    image = Image.open(io.BytesIO(png))

    assert image.format == "PNG"
    assert _decoded(image) == [payload]


def test_png_has_a_four_module_quiet_zone_at_the_given_scale() -> None:
    qr = segno.make_qr(LEADING_ZERO_CRC, error="m", boost_error=False)
    width, _ = qr.symbol_size(scale=1, border=0)
    image = Image.open(io.BytesIO(render_png(LEADING_ZERO_CRC, scale=5)))
    assert image.size == ((width + 8) * 5, (width + 8) * 5)


def test_purple_png_still_decodes() -> None:
    image = Image.open(io.BytesIO(render_png(BLOG, dark=PAYNOW_PURPLE)))
    assert _decoded(image.convert("RGB")) == [BLOG]


def _svg_dark_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """Read back the modules segno draws: one path of horizontal runs, one unit per module."""
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output, not untrusted input
    namespace = {"svg": "http://www.w3.org/2000/svg"}
    path = root.find("svg:path", namespace)
    assert path is not None
    scale = int(re.fullmatch(r"scale\((\d+)\)", path.attrib["transform"]).group(1))  # type: ignore[union-attr]
    size = int(root.attrib["width"]) // scale
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, first, second in re.findall(
        r"([MmHh])(-?[\d.]+)(?: (-?[\d.]+))?", path.attrib["d"]
    ):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            run = int(float(first))
            dark.update((int(x) + step, int(y)) for step in range(run))
            x += run
    return size, dark


def test_svg_is_well_formed_and_draws_the_level_m_matrix_with_a_quiet_zone() -> None:
    svg = render_svg(LEADING_ZERO_CRC)
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output, not untrusted input
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert PAYNOW_PURPLE.lower() in svg.lower()

    size, dark = _svg_dark_modules(svg)
    expected = segno.make_qr(LEADING_ZERO_CRC, error="m", boost_error=False)
    border = 4
    assert size == len(expected.matrix) + 2 * border
    assert dark == {
        (column + border, row + border)
        for row, line in enumerate(expected.matrix)
        for column, module in enumerate(line)
        if module
    }


def test_svg_modules_drawn_as_an_image_decode_to_the_payload() -> None:
    size, dark = _svg_dark_modules(render_svg(BLOG))
    scale = 6
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y in dark:
        draw.rectangle([x * scale, y * scale, (x + 1) * scale - 1, (y + 1) * scale - 1], fill=0)
    assert _decoded(image) == [BLOG]


def test_rendering_refuses_a_payload_with_a_bad_crc() -> None:
    with pytest.raises(PayNowChecksumMismatch):
        render_png(BLOG[:-4] + "0000")
    with pytest.raises(PayNowChecksumMismatch):
        render_svg(BLOG[:-4] + "0000")
