"""The pricing service's figures, by example and by property: totals equal the lines minus
discounts plus shipping (plus GST when prices exclude it), discount shares add up exactly to
the discount, the GST is the reference's rule, nothing is negative."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pasar.sales.pricing import LineInput, PricingError, price, spread

RATE = Decimal("0.09")
CENT = Decimal("0.01")


def line(key: str, unit: str, quantity: int = 1, *, taxable: bool = True, discount: str = "0"):
    return LineInput(key, Decimal(unit), quantity, taxable, Decimal(discount))


def test_gst_inside_a_consumer_price_is_nine_109ths() -> None:
    quote = price([line("KOPI", "10.90")], prices_include_gst=True, gst_rate=RATE)
    assert quote.gst == Decimal("0.90")
    assert quote.total == Decimal("10.90")
    assert quote.total_excluding_gst == Decimal("10.00")


def test_gst_on_a_business_price_is_added() -> None:
    quote = price([line("BEANS", "100.00", 2)], prices_include_gst=False, gst_rate=RATE)
    assert (quote.gst, quote.total) == (Decimal("18.00"), Decimal("218.00"))


def test_zero_rated_lines_carry_no_gst_and_shipping_does() -> None:
    quote = price(
        [line("EXPORT", "50.00", taxable=False), line("MUG", "21.80")],
        prices_include_gst=True,
        gst_rate=RATE,
        shipping=Decimal("5.45"),
    )
    # (21.80 + 5.45) x 9/109 = 2.25
    assert quote.gst == Decimal("2.25")
    assert quote.lines[0].gst == Decimal("0.00")
    assert quote.lines[1].gst + quote.shipping_gst == quote.gst
    assert quote.total == Decimal("77.25")


def test_an_order_discount_is_shared_to_the_cent_and_the_cents_go_to_the_largest_parts() -> None:
    quote = price(
        [line("A", "1.00"), line("B", "1.00"), line("C", "1.00")],
        prices_include_gst=True,
        gst_rate=RATE,
        order_discount=Decimal("1.00"),
    )
    assert [figure.order_discount for figure in quote.lines] == [
        Decimal("0.34"),
        Decimal("0.33"),
        Decimal("0.33"),
    ]
    assert quote.total == Decimal("2.00")


@pytest.mark.parametrize(
    ("lines", "kwargs", "problem"),
    [
        ([line("A", "5.00", discount="6.00")], {}, "more than the line costs"),
        ([line("A", "5.00")], {"order_discount": Decimal("5.01")}, "more than the order costs"),
        ([line("A", "-1.00")], {}, "cannot be negative"),
        ([line("A", "1.005")], {}, "more than two decimal places"),
        ([line("A", "1.00", -1)], {}, "quantity"),
    ],
)
def test_what_cannot_be_priced_is_refused(lines, kwargs, problem: str) -> None:
    with pytest.raises(PricingError, match=problem):
        price(lines, prices_include_gst=True, gst_rate=RATE, **kwargs)


money = st.decimals(min_value=0, max_value=Decimal("999.99"), places=2)


@st.composite
def orders(draw: st.DrawFn) -> tuple[list[LineInput], Decimal, Decimal]:
    lines = []
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        unit = draw(money)
        quantity = draw(st.integers(min_value=0, max_value=20))
        discount = draw(st.decimals(min_value=0, max_value=unit * quantity, places=2))
        lines.append(LineInput(f"L{index}", unit, quantity, draw(st.booleans()), discount))
    left = sum((item.unit_price * item.quantity - item.discount for item in lines), Decimal(0))
    order_discount = draw(st.decimals(min_value=0, max_value=left, places=2))
    return lines, order_discount, draw(money)


@given(order=orders(), inclusive=st.booleans())
def test_every_figure_adds_up(order, inclusive: bool) -> None:
    lines, order_discount, shipping = order
    quote = price(
        lines,
        prices_include_gst=inclusive,
        gst_rate=RATE,
        order_discount=order_discount,
        shipping=shipping,
    )
    nets = sum((figure.net for figure in quote.lines), Decimal(0))
    assert sum((figure.order_discount for figure in quote.lines), Decimal(0)) == order_discount
    assert quote.subtotal - quote.discount == nets
    expected_total = nets + shipping + (Decimal(0) if inclusive else quote.gst)
    assert quote.total == expected_total
    taxed = sum(
        (f.net for f, i in zip(quote.lines, lines, strict=True) if i.gst_taxable), Decimal(0)
    )
    taxed += shipping
    rule = taxed * RATE / (1 + RATE) if inclusive else taxed * RATE
    assert quote.gst == rule.quantize(CENT, rounding=ROUND_HALF_UP)
    assert sum((figure.gst for figure in quote.lines), Decimal(0)) + quote.shipping_gst == quote.gst
    for figure in quote.lines:
        assert figure.net >= 0
        assert figure.gst >= 0
        assert figure.order_discount >= 0
        assert figure.gst <= figure.net
    assert quote.total >= 0
    assert quote.gst >= 0


@given(
    weights=st.lists(money, min_size=1, max_size=8),
    fraction=st.fractions(min_value=0, max_value=1),
)
def test_shares_add_up_exactly_and_none_exceeds_its_weight(weights, fraction) -> None:
    total = sum(weights, Decimal(0))
    amount = (total * Decimal(fraction.numerator) / Decimal(fraction.denominator)).quantize(
        CENT, rounding="ROUND_FLOOR"
    )
    shares = spread(amount, weights)
    assert sum(shares, Decimal(0)) == amount
    assert all(Decimal(0) <= share <= weight for share, weight in zip(shares, weights, strict=True))
