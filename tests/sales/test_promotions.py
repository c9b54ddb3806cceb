"""Promotions: which apply, what they take off, stacking, limits; and the invariants of any mix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pasar.core.tenant import tenant_context
from pasar.sales import services
from pasar.sales.models import Cart, Promotion, PromotionKind, PromotionScope
from pasar.sales.pricing import LineInput, price
from pasar.sales.services.promotions import PromotedLine, evaluate
from tests.concurrency import at_once
from tests.sales.conftest import Store

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def offer(pk: int, **fields: object) -> Promotion:
    values: dict[str, object] = {
        "name": f"Offer {pk}",
        "code": "",
        "kind": PromotionKind.PERCENTAGE,
        "value": Decimal(10),
        "scope": PromotionScope.ORDER,
        "min_spend": Decimal(0),
        "stackable": False,
        "is_active": True,
        "times_used": 0,
        **fields,
    }
    promotion = Promotion(**values)
    promotion.pk = pk
    return promotion


LINES = [
    PromotedLine("a", product_id=1, category_id=10, gross=Decimal("40.00")),
    PromotedLine("b", product_id=2, category_id=20, gross=Decimal("20.00")),
]


def test_a_percentage_off_the_order() -> None:
    outcome = evaluate([offer(1)], LINES, codes=[], now=NOW, scope_ids={})
    assert outcome.order_discount == Decimal("6.00")
    assert outcome.discount == Decimal("6.00")


def test_a_fixed_amount_off_chosen_products_comes_off_their_lines() -> None:
    promotion = offer(1, kind=PromotionKind.FIXED, value=Decimal(5), scope=PromotionScope.PRODUCTS)
    outcome = evaluate([promotion], LINES, codes=[], now=NOW, scope_ids={1: {2}})
    assert outcome.line_discounts == {"a": Decimal(0), "b": Decimal("5.00")}
    assert outcome.order_discount == 0


def test_a_code_below_its_minimum_spend_is_refused_with_the_reason() -> None:
    promotion = offer(1, code="BIG", min_spend=Decimal(100))
    outcome = evaluate([promotion], LINES, codes=["big"], now=NOW, scope_ids={})
    assert outcome.discount == 0
    assert outcome.refused == {"BIG": "Spend S$100.00 on eligible items to use BIG."}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ends_at": NOW - timedelta(days=1)}, "BIG has expired."),
        ({"starts_at": NOW + timedelta(days=2)}, "BIG starts on 3 Jun 2026."),
        ({"usage_limit": 3, "times_used": 3}, "BIG has been fully used."),
        ({"is_active": False}, "BIG is not available."),
    ],
)
def test_expired_future_used_up_and_switched_off_codes(fields: dict, reason: str) -> None:
    outcome = evaluate(
        [offer(1, code="BIG", **fields)], LINES, codes=["BIG"], now=NOW, scope_ids={}
    )
    assert outcome.refused == {"BIG": reason}
    assert outcome.discount == 0


def test_an_unknown_code_is_named() -> None:
    outcome = evaluate([], LINES, codes=["nope"], now=NOW, scope_ids={})
    assert outcome.refused == {"NOPE": "NOPE is not a valid code."}


def test_a_code_the_customer_used_up_is_refused() -> None:
    promotion = offer(1, code="ONCE", per_customer_limit=1)
    outcome = evaluate(
        [promotion], LINES, codes=["ONCE"], now=NOW, scope_ids={}, uses_by_customer={1: 1}
    )
    assert outcome.refused == {"ONCE": "You have already used ONCE."}


def test_stacking_offers_add_up_and_a_lone_offer_wins_only_when_larger() -> None:
    five = offer(1, kind=PromotionKind.FIXED, value=Decimal(5), stackable=True)
    three = offer(2, kind=PromotionKind.FIXED, value=Decimal(3), stackable=True)
    lone = offer(3, code="TEN", kind=PromotionKind.PERCENTAGE, value=Decimal(10))
    together = evaluate([five, three, lone], LINES, codes=["TEN"], now=NOW, scope_ids={})
    assert together.discount == Decimal("8.00")  # 5 + 3 beats 10% of 60
    assert "TEN" in together.refused

    bigger = offer(3, code="TWENTY", value=Decimal(20))
    alone = evaluate([five, three, bigger], LINES, codes=["TWENTY"], now=NOW, scope_ids={})
    assert alone.discount == Decimal("12.00")
    assert [applied.promotion.pk for applied in alone.applied] == [3]


def test_free_delivery_combines_with_a_discount() -> None:
    free = offer(1, kind=PromotionKind.FREE_SHIPPING, value=Decimal(0), min_spend=Decimal(50))
    outcome = evaluate([free, offer(2)], LINES, codes=[], now=NOW, scope_ids={})
    assert outcome.free_shipping
    assert outcome.discount == Decimal("6.00")


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)


@st.composite
def carts_and_offers(draw: st.DrawFn) -> tuple[list[PromotedLine], list[Promotion], dict]:
    count = draw(st.integers(min_value=1, max_value=6))
    lines = [
        PromotedLine(
            str(index),
            product_id=draw(st.integers(1, 4)),
            category_id=draw(st.sampled_from([None, 10, 20])),
            gross=draw(amounts) * draw(st.integers(1, 5)),
        )
        for index in range(count)
    ]
    offers = []
    scope_ids: dict[int, set[int]] = {}
    for pk in range(1, draw(st.integers(0, 5)) + 1):
        kind = draw(st.sampled_from(list(PromotionKind)))
        scope = draw(st.sampled_from(list(PromotionScope)))
        value = (
            Decimal(draw(st.integers(1, 100)))
            if kind == PromotionKind.PERCENTAGE
            else draw(amounts)
        )
        offers.append(
            offer(
                pk,
                kind=kind,
                scope=scope,
                value=value,
                stackable=draw(st.booleans()),
                min_spend=draw(st.sampled_from([Decimal(0), Decimal(30), Decimal(200)])),
            )
        )
        if scope == PromotionScope.PRODUCTS:
            scope_ids[pk] = set(draw(st.lists(st.integers(1, 4), max_size=3)))
        elif scope == PromotionScope.CATEGORIES:
            scope_ids[pk] = set(draw(st.lists(st.sampled_from([10, 20]), max_size=2)))
    return lines, offers, scope_ids


@settings(max_examples=300, deadline=None)
@given(carts_and_offers(), st.sampled_from([Decimal(0), Decimal("0.09")]), amounts)
def test_any_mix_of_offers_prices_to_a_total_that_adds_up(
    case: tuple[list[PromotedLine], list[Promotion], dict], rate: Decimal, shipping: Decimal
) -> None:
    lines, offers, scope_ids = case
    outcome = evaluate(offers, lines, codes=[], now=NOW, scope_ids=scope_ids)
    # Nothing comes off a line beyond what it costs, and the parts add up to the discount.
    for line in lines:
        assert 0 <= outcome.line_discounts[line.key] <= line.gross
    assert sum(a.amount for a in outcome.applied) == outcome.discount
    quote = price(
        [
            LineInput(line.key, line.gross, 1, True, discount=outcome.line_discounts[line.key])
            for line in lines
        ],
        prices_include_gst=True,
        gst_rate=rate,
        order_discount=outcome.order_discount,
        shipping=Decimal(0) if outcome.free_shipping else shipping,
    )
    goods = sum((line.gross for line in lines), Decimal(0))
    assert quote.total == goods - outcome.discount + quote.shipping
    assert quote.total >= 0
    assert all(figures.net >= 0 for figures in quote.lines)


@pytest.mark.django_db(transaction=True)
def test_a_code_with_a_limit_of_three_is_used_three_times_by_eight_shoppers_at_once(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    services.promotion_save(
        company=store.company,
        actor=None,
        data={
            "name": "First three",
            "code": "FIRST3",
            "kind": "fixed",
            "value": "2",
            "usage_limit": 3,
        },
    )
    carts = []
    for index in range(8):
        cart = filled_cart((store.kopi, 1), email=f"buyer{index}@example.com")
        services.cart_apply_code(company=store.company, cart=cart, code="FIRST3")
        carts.append(cart)

    outcomes = at_once(8, lambda i: services.order_place(company=store.company, cart=carts[i]))

    placed = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(placed) == 3
    assert all(isinstance(error, services.PromotionUnavailable) for error in refused)

    with tenant_context(store.company):
        promotion = Promotion.objects.get(code="FIRST3")
        assert promotion.times_used == 3
        assert promotion.redemptions.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_category_offer_covers_the_categories_below_it(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    from pasar.catalog.models import Category

    with tenant_context(store.company):
        coffee = Category.objects.create(company=store.company, name="Coffee", slug="coffee")
        beans = Category.objects.create(
            company=store.company, name="Beans", slug="beans", parent=coffee
        )
        store.kopi.product.category = beans
        store.kopi.product.save()
    services.promotion_save(
        company=store.company,
        actor=None,
        data={
            "name": "Coffee",
            "code": "KOPI5",
            "kind": "fixed",
            "value": "5",
            "scope": "categories",
        },
        categories=[coffee],
    )
    cart = filled_cart((store.kopi, 1), (store.teh, 1))
    services.cart_apply_code(company=store.company, cart=cart, code="KOPI5")
    with tenant_context(store.company):
        cart.refresh_from_db()
    figures = services.cart_figures(company=store.company, cart=cart)
    discounts = {line.variant.sku: line.discount for line in figures.lines}
    assert discounts == {"KOPI-250": Decimal("5.00"), "TEH-100": Decimal("0")}


@pytest.mark.django_db
def test_a_form_s_dates_and_limits_are_read_by_the_service_and_bad_ones_named(
    store: Store,
) -> None:
    saved = services.promotion_save(
        company=store.company,
        actor=None,
        data={
            "name": "Weekend",
            "kind": "percentage",
            "value": "10",
            "starts_at": "2026-12-12T09:00",
            "ends_at": "2026-12-13T21:00",
            "usage_limit": "50",
            "per_customer_limit": "",
        },
    )
    assert saved.starts_at == datetime(2026, 12, 12, 1, 0, tzinfo=UTC)  # 09:00 in Singapore
    assert (saved.usage_limit, saved.per_customer_limit) == (50, None)
    switched_off = services.promotion_set_active(
        company=store.company, promotion=saved, active=False, actor=None
    )
    services.promotion_save(
        company=store.company,
        actor=None,
        promotion=saved,  # as read before it was switched off
        data={"name": "Weekend", "kind": "percentage", "value": "15"},
    )
    with tenant_context(store.company):
        switched_off.refresh_from_db()
    assert (switched_off.is_active, switched_off.value) == (False, Decimal("15.00"))
    with pytest.raises(services.InvalidPromotion) as refused:
        services.promotion_save(
            company=store.company,
            actor=None,
            data={
                "name": "Bad",
                "kind": "fixed",
                "value": "2",
                "starts_at": "next Friday",
                "usage_limit": "many",
                "per_customer_limit": "0",
            },
        )
    assert [d["field"] for d in refused.value.details] == [
        "starts_at",
        "usage_limit",
        "per_customer_limit",
    ]
