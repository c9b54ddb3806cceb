from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pasar.catalog import rules, services
from pasar.catalog.models import Variant
from pasar.core.money import MAX_AMOUNT
from pasar.core.tenant import tenant_context
from tests.catalog.helpers import product


@given(body=st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_any_twelve_digits_with_their_check_digit_are_a_valid_ean13(body: str) -> None:
    code = body + rules.gtin_check_digit(body)
    assert rules.barcode_is_valid(code)
    assert rules.clean_barcode(code) == code


@given(body=st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_any_eleven_digits_with_their_check_digit_are_a_valid_upca(body: str) -> None:
    assert rules.barcode_is_valid(body + rules.gtin_check_digit(body))


@given(
    body=st.text(alphabet="0123456789", min_size=12, max_size=12),
    position=st.integers(min_value=0, max_value=12),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_is_refused(body: str, position: int, shift: int) -> None:
    code = body + rules.gtin_check_digit(body)
    changed = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1 :]
    assert not rules.barcode_is_valid(changed)
    with pytest.raises(rules.InvalidValue):
        rules.clean_barcode(changed)


def test_known_barcodes() -> None:
    assert rules.barcode_is_valid("4006381333931")  # EAN-13 from the GS1 examples
    assert rules.barcode_is_valid("036000291452")  # UPC-A
    assert not rules.barcode_is_valid("4006381333932")
    assert rules.clean_barcode(" 4006-3813-33931 ") == "4006381333931"
    with pytest.raises(rules.InvalidValue):
        rules.clean_barcode("40063813339")  # eleven digits


cents = st.decimals(
    min_value=Decimal(0), max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False
)


@given(price=cents)
def test_a_price_with_at_most_two_places_is_kept_exactly(price: Decimal) -> None:
    assert rules.clean_price(price) == price
    assert rules.clean_price(str(price)) == price
    assert rules.clean_price(f"S${price:,}") == price
    assert rules.clean_price(price).as_tuple().exponent == -2


@given(price=cents, extra=st.integers(min_value=1, max_value=9))
def test_a_price_with_fractions_of_a_cent_is_refused(price: Decimal, extra: int) -> None:
    with pytest.raises(rules.InvalidValue) as refused:
        rules.clean_price(f"{price}{extra}")
    assert refused.value.code in {"too_precise", "too_large"}


@given(price=st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_price_is_refused(price: float) -> None:
    with pytest.raises(rules.InvalidValue):
        rules.clean_price(price)


@given(price=cents.filter(lambda p: p > 0))
def test_a_negative_price_is_refused(price: Decimal) -> None:
    with pytest.raises(rules.InvalidValue) as refused:
        rules.clean_price(-price)
    assert refused.value.code == "negative"


@pytest.mark.django_db
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=cents, cost=st.decimals(min_value=0, max_value=10**6, places=4))
def test_prices_and_costs_survive_the_database_unchanged(company, price, cost) -> None:
    with tenant_context(company):
        variant = Variant.objects.filter(sku="ROUND").first()
    if variant is None:
        product(company, "Round trip", {"sku": "ROUND", "price": "0"})
        with tenant_context(company):
            variant = Variant.objects.get(sku="ROUND")
    services.variant_update(variant=variant, price=str(price), cost=cost)
    with tenant_context(company):
        stored = Variant.objects.get(sku="ROUND")
    assert stored.price == price
    assert stored.cost == cost
    assert isinstance(stored.price, Decimal)
