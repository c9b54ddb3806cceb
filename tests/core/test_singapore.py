"""Singapore addresses: block or house number, street, unit (#floor-unit), building and a
six-digit postal code, checked and written the usual way, every problem named at once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pasar.core.singapore import AddressError, clean_address


def test_an_hdb_address_is_written_the_usual_way() -> None:
    address = clean_address(
        block=" blk 123a ",
        street="Ang  Mo Kio Ave 3",
        unit="1-23",
        building="Kopi House",
        postal_code="560 123",
    )
    assert address.block == "123A"
    assert address.unit == "#01-23"
    assert address.lines() == ["123A Ang Mo Kio Ave 3", "#01-23 Kopi House", "Singapore 560123"]


def test_a_house_has_no_unit_and_a_basement_unit_keeps_its_b() -> None:
    house = clean_address(block="8", street="Jalan Kechubong", postal_code="579000")
    assert house.lines() == ["8 Jalan Kechubong", "Singapore 579000"]
    shop = clean_address(block="1", street="Raffles Place", unit="#b1-05", postal_code="048616")
    assert shop.unit == "#B1-05"


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(AddressError) as refused:
        clean_address(block="Tower", street="", unit="01/23", postal_code="56012")
    assert set(refused.value.problems) == {"block", "street", "unit", "postal_code"}
    assert "#01-23" in refused.value.problems["unit"]
    with pytest.raises(AddressError) as control:
        clean_address(block="1", street="Orchard\x00Road", postal_code="238801")
    assert set(control.value.problems) == {"street"}


@given(
    block=st.from_regex(r"[0-9]{1,4}[A-Z]?", fullmatch=True),
    street=st.from_regex(r"[A-Za-z][A-Za-z ]{1,40}[a-z]", fullmatch=True),
    floor=st.integers(min_value=1, max_value=99),
    number=st.integers(min_value=1, max_value=9999),
    postal=st.from_regex(r"[0-9]{6}", fullmatch=True),
)
def test_any_valid_address_reads_back_the_same_once_written(
    block: str, street: str, floor: int, number: int, postal: str
) -> None:
    written = clean_address(
        block=block, street=street, unit=f"#{floor:02d}-{number}", postal_code=postal
    )
    again = clean_address(
        block=written.block,
        street=written.street,
        unit=written.unit,
        building=written.building,
        postal_code=written.postal_code,
    )
    assert again == written
    assert written.lines()[-1] == f"Singapore {postal}"
