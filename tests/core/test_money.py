"""One parser for amounts: commas separate thousands in groups of three, nothing else."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pasar.core.money import AmountError, format_sgd, parse_amount, parse_money


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


# Decimals built from a value that is not money typed by anyone: each with its reason.
NOT_MONEY_INPUT = {
    ("pasar/core/audit.py", "_canonical"): "a JSON float of an audit entry, for hashing",
    ("pasar/inventory/services/levels.py", "_round_cost"): "whole ten-thousandths of a dollar",
}


def _decimal_builders(path: Path) -> list[tuple[str, str]]:
    """(function, source) for each `Decimal(x)` with x not a literal in the file."""
    found = []
    tree = ast.parse(path.read_text())
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "Decimal"
                and node.args
                and not isinstance(node.args[0], ast.Constant)
            ):
                found.append((function.name, ast.unparse(node)))
    return found


def test_every_amount_is_read_by_pasar_core_money() -> None:
    """One parser: functions named as parsers of amounts live in pasar/core/money.py only, and
    nothing else builds a Decimal from a value it was given."""
    parser_name = re.compile(r"parse.*(amount|money|price|cost|decimal)", re.IGNORECASE)
    parsers = []
    builders = []
    for path in sorted(Path("pasar").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = str(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and parser_name.search(node.name):
                parsers.append((source, node.name))
        if source != "pasar/core/money.py":
            builders += [
                (source, function, call)
                for function, call in _decimal_builders(path)
                if (source, function) not in NOT_MONEY_INPUT
            ]
    assert parsers == [
        ("pasar/core/money.py", "parse_amount"),
        ("pasar/core/money.py", "parse_money"),
    ]
    assert builders == []


@pytest.mark.parametrize(
    ("typed", "places", "expected"),
    [
        ("S$1,234.50", 2, Decimal("1234.50")),
        ("4.5", 2, Decimal("4.50")),
        ("0.1234", 4, Decimal("0.1234")),
        (12, 2, Decimal("12.00")),
    ],
)
def test_parse_money_returns_the_amount_with_its_places(
    typed: object, places: int, expected: Decimal
) -> None:
    parsed = parse_money(typed, places=places, maximum=Decimal("99999"))
    assert parsed == expected
    assert parsed.as_tuple().exponent == -places


@pytest.mark.parametrize(
    ("typed", "places", "minimum", "code"),
    [
        ("1.005", 2, Decimal(0), "too_precise"),
        ("0.12345", 4, Decimal(0), "too_precise"),
        ("-1", 2, Decimal(0), "negative"),
        ("0", 2, Decimal("0.01"), "too_small"),
        ("100000", 2, Decimal(0), "too_large"),
        ("28,50", 2, Decimal(0), "decimal_comma"),
        ("1,23,456", 2, Decimal(0), "misplaced_comma"),
        (1.5, 2, Decimal(0), "invalid"),
    ],
)
def test_parse_money_refuses_with_a_stable_code(
    typed: object, places: int, minimum: Decimal, code: str
) -> None:
    with pytest.raises(AmountError) as refused:
        parse_money(typed, places=places, minimum=minimum, maximum=Decimal("99999"), what="Price")
    assert refused.value.code == code
    assert refused.value.message.startswith(("Price", "'"))


@given(st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2))
def test_a_formatted_amount_reads_back_the_same(amount: Decimal) -> None:
    assert parse_money(format_sgd(amount)) == amount
