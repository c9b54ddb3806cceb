"""One parser for amounts: commas separate thousands in groups of three, nothing else."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pasar.core.money import AmountError, parse_amount


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("28.50", "28.50"),
        ("1,234.50", "1234.50"),
        ("S$1,234.50", "1234.50"),
        ("$ 12", "12"),
        ("SGD 1,000,000", "1000000"),
        ("  7.5 ", "7.5"),
        (".99", "0.99"),
        (Decimal("3.20"), "3.20"),
        (15, "15"),
        ("-4.00", "-4.00"),
    ],
)
def test_amounts_people_type_are_read_exactly(typed, amount: str) -> None:
    assert parse_amount(typed) == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "code", "says"),
    [
        ("28,50", "decimal_comma", "type 28.50"),
        ("28,5", "decimal_comma", "28 dollars and 50 cents"),
        ("1,23", "decimal_comma", "type 1.23"),
        ("12,34,567", "misplaced_comma", "groups of three"),
        ("1,2345.00", "misplaced_comma", "groups of three"),
        ("1234,567.00", "misplaced_comma", "groups of three"),
        ("12.50.1", "not_a_number", "not a number"),
        ("abc", "not_a_number", "not a number"),
        ("NaN", "not_a_number", "not a number"),
        ("Infinity", "not_a_number", "not a number"),
        ("1e3", "not_a_number", "not a number"),
        ("", "not_a_number", "not a number"),
        (1.5, "invalid", "as text"),
        (True, "not_a_number", "not a number"),
    ],
)
def test_what_is_not_an_amount_is_refused_saying_why(typed, code: str, says: str) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(typed)
    assert refused.value.code == code
    assert says in refused.value.message


@given(st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2))
def test_an_amount_written_with_thousands_separators_reads_back_exactly(amount: Decimal) -> None:
    assert parse_amount(f"{amount:,.2f}") == amount
    assert parse_amount(f"S${amount:,.2f}") == amount
    assert parse_amount(f"{amount:.2f}") == amount


@given(st.integers(min_value=0, max_value=999_999), st.integers(min_value=0, max_value=99))
def test_a_decimal_comma_is_never_read_as_thousands(dollars: int, cents: int) -> None:
    with pytest.raises(AmountError):
        parse_amount(f"{dollars},{cents:02d}")


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("19.9", "S$19.90"), ("1234.5", "S$1,234.50"), ("0", "S$0.00"), ("-4", "-S$4.00")],
)
def test_amounts_are_shown_one_way(amount: str, shown: str) -> None:
    from pasar.core.money import format_sgd

    assert format_sgd(Decimal(amount)) == shown
