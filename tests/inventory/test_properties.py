"""Properties of the moving weighted average cost (pure arithmetic, no database)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from pasar.inventory.services import weighted_average_cost
from tests.inventory.profiles import inventory_settings

HALF_UNIT = Decimal("0.00005")

costs = st.decimals(min_value=0, max_value=Decimal("99999.9999"), places=4)
quantities = st.integers(min_value=1, max_value=100_000)
on_hands = st.integers(min_value=0, max_value=100_000)


def reference_average(on_hand: int, average: Decimal, received: int, cost: Decimal) -> Decimal:
    """The same rule computed another way: wide decimal arithmetic, then one half-up rounding."""
    if on_hand == 0:
        return cost.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    with localcontext() as context:
        context.prec = 60
        exact = (on_hand * average + received * cost) / (on_hand + received)
        return exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@inventory_settings(max_examples=200)
@given(on_hand=on_hands, average=costs, received=quantities, cost=costs)
def test_average_matches_the_exact_rule(on_hand, average, received, cost) -> None:
    assert weighted_average_cost(
        on_hand=on_hand, average_cost=average, received=received, unit_cost=cost
    ) == reference_average(on_hand, average, received, cost)


@inventory_settings(max_examples=200)
@given(on_hand=quantities, average=costs, received=quantities, cost=costs)
def test_average_lies_between_the_old_average_and_the_new_cost(
    on_hand, average, received, cost
) -> None:
    new = weighted_average_cost(
        on_hand=on_hand, average_cost=average, received=received, unit_cost=cost
    )
    assert min(average, cost) <= new <= max(average, cost)


@inventory_settings(max_examples=200)
@given(on_hand=on_hands, average=costs, received=quantities, cost=costs)
def test_stock_value_is_kept_within_half_a_ten_thousandth_per_unit(
    on_hand, average, received, cost
) -> None:
    new = weighted_average_cost(
        on_hand=on_hand, average_cost=average, received=received, unit_cost=cost
    )
    value_before = on_hand * average + received * cost if on_hand else received * cost
    units = on_hand + received if on_hand else received
    assert abs(new * units - value_before) <= HALF_UNIT * units
    assert new.as_tuple().exponent == -4


@inventory_settings(max_examples=100)
@given(on_hand=on_hands, received=quantities, cost=costs)
def test_receiving_at_the_average_cost_keeps_it(on_hand, received, cost) -> None:
    assert (
        weighted_average_cost(on_hand=on_hand, average_cost=cost, received=received, unit_cost=cost)
        == cost
    )


@inventory_settings(max_examples=100)
@given(average=costs, received=quantities, cost=costs)
def test_from_empty_the_receipt_cost_is_the_average(average, received, cost) -> None:
    assert (
        weighted_average_cost(on_hand=0, average_cost=average, received=received, unit_cost=cost)
        == cost
    )


@inventory_settings(max_examples=100)
@given(on_hand=quantities, average=costs, received=quantities, cost=costs)
def test_order_of_quantities_does_not_matter(on_hand, average, received, cost) -> None:
    """Receiving b at c onto a at m gives the same as receiving a at m onto b at c."""
    assert weighted_average_cost(
        on_hand=on_hand, average_cost=average, received=received, unit_cost=cost
    ) == weighted_average_cost(
        on_hand=received, average_cost=cost, received=on_hand, unit_cost=average
    )


def test_halves_round_up() -> None:
    # (1 x 0.0001 + 1 x 0.0000) / 2 = 0.00005 -> 0.0001
    assert weighted_average_cost(
        on_hand=1, average_cost=Decimal("0.0001"), received=1, unit_cost=Decimal(0)
    ) == Decimal("0.0001")
