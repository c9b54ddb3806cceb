"""The one pricing service: every figure of a cart and of an order, computed in one place.

Prices are in SGD with two places. A line's gross is its unit price times its quantity; its
own discount (a promotion on that product) comes off first; an order-level discount is then
spread over the lines in proportion to what is left of each, to the cent, so the shares add
up exactly to the discount (largest remainder: the cents left over go to the lines with the
largest fractions, the earlier line first on a tie).

GST follows ../shared/reference/gst.md, section 6: computed on the invoice's total (one of
the two methods IRAS accepts; the same one for credit notes), rounded half-up to the cent.
- Consumer prices include GST: the GST part of the standard-rated amount is
  amount x rate / (1 + rate), e.g. 9/109 at 9%.
- Business prices exclude it: GST is the standard-rated amount x rate, added on top.
Zero-rated and exempt lines carry no GST. Shipping is a standard-rated supply of its own.
The GST is also stated per line (and for shipping), spread the same way, so that a ledger can
post it by line and the parts add up exactly to the total.

An order stores each figure this returns; nothing is recomputed later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pasar.core.money import CENT, spread

ZERO = Decimal("0.00")


class PricingError(ValueError):
    """Figures that cannot be priced (a discount larger than what it discounts, a negative
    price or quantity); the message says which."""


@dataclass(frozen=True)
class LineInput:
    key: str  # the caller's handle for the line (its SKU, its line id)
    unit_price: Decimal
    quantity: int
    gst_taxable: bool  # standard-rated; False for zero-rated and exempt supplies
    discount: Decimal = ZERO  # this line's own promotion, in dollars for the whole line


@dataclass(frozen=True)
class LineFigures:
    key: str
    gross: Decimal  # unit price x quantity
    line_discount: Decimal
    order_discount: Decimal  # this line's share of the order's discount
    net: Decimal  # what the line costs after both discounts (incl. GST when prices include it)
    gst: Decimal  # the GST this line carries


@dataclass(frozen=True)
class Quote:
    lines: tuple[LineFigures, ...]
    subtotal: Decimal  # the lines' gross
    discount: Decimal  # every discount, line and order
    shipping: Decimal
    shipping_gst: Decimal
    gst: Decimal  # the invoice's GST: the lines' and shipping's parts add up to it
    total: Decimal  # what the customer pays
    prices_include_gst: bool
    gst_rate: Decimal

    @property
    def total_excluding_gst(self) -> Decimal:
        return self.total - self.gst


def price(
    lines: Sequence[LineInput],
    *,
    prices_include_gst: bool,
    gst_rate: Decimal,
    order_discount: Decimal = ZERO,
    shipping: Decimal = ZERO,
) -> Quote:
    """Every figure of a cart or an order with these lines."""
    _check_amount(order_discount, "The order discount")
    _check_amount(shipping, "Shipping")
    if gst_rate < 0:
        raise PricingError("The GST rate cannot be negative.")
    grosses = []
    for line in lines:
        _check_amount(line.unit_price, f"The price of {line.key}")
        _check_amount(line.discount, f"The discount on {line.key}")
        if line.quantity < 0:
            raise PricingError(f"The quantity of {line.key} cannot be negative.")
        gross = line.unit_price * line.quantity
        if line.discount > gross:
            raise PricingError(f"The discount on {line.key} is more than the line costs.")
        grosses.append(gross)
    after_line_discounts = [
        gross - line.discount for gross, line in zip(grosses, lines, strict=True)
    ]
    if order_discount > sum(after_line_discounts, ZERO):
        raise PricingError("The order discount is more than the order costs.")
    shares = spread(order_discount, after_line_discounts)
    nets = [amount - share for amount, share in zip(after_line_discounts, shares, strict=True)]

    # The standard-rated amounts GST is computed on, shipping last.
    taxed = [net if line.gst_taxable else ZERO for net, line in zip(nets, lines, strict=True)]
    taxed.append(shipping)
    base = sum(taxed, ZERO)
    if prices_include_gst:
        gst = _cents(base * gst_rate / (1 + gst_rate))
    else:
        gst = _cents(base * gst_rate)
    parts = spread(gst, taxed)
    figures = tuple(
        LineFigures(
            key=line.key,
            gross=gross,
            line_discount=line.discount,
            order_discount=share,
            net=net,
            gst=part,
        )
        for line, gross, share, net, part in zip(
            lines, grosses, shares, nets, parts[:-1], strict=True
        )
    )
    goods = sum(nets, ZERO)
    total = goods + shipping if prices_include_gst else goods + shipping + gst
    return Quote(
        lines=figures,
        subtotal=sum(grosses, ZERO),
        discount=sum((line.discount for line in lines), ZERO) + order_discount,
        shipping=shipping,
        shipping_gst=parts[-1],
        gst=gst,
        total=total,
        prices_include_gst=prices_include_gst,
        gst_rate=gst_rate,
    )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _check_amount(value: Decimal, what: str) -> None:
    if value < 0:
        raise PricingError(f"{what} cannot be negative.")
    if value != value.quantize(CENT):
        raise PricingError(f"{what} has more than two decimal places.")
