"""Many buyers at the same instant, each on its own database connection, against real PostgreSQL.

Every buyer connects first, then all are released together by a barrier, so the reservations
really race for the same rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from pasar.catalog.models import Variant
from pasar.core.tenant import tenant_context
from pasar.inventory.models import StockLevel
from pasar.inventory.selectors import stock_drift
from pasar.inventory.services import (
    InsufficientStock,
    ReserveLine,
    stock_receive,
    stock_reserve,
)
from tests.concurrency import at_once
from tests.factories import CompanyFactory, LocationFactory
from tests.inventory.factories import ChannelFactory, VariantFactory

# The embedded PostgreSQL allows 100 connections; 50 buyers leave room for everyone else.
BUYERS = 50


def race(company, attempt: Callable[[int], object]) -> list[object]:
    """Run `attempt(i)` in BUYERS threads released at once; each returns its outcome."""

    def buyer(index: int) -> object:
        with tenant_context(company):
            return attempt(index)

    return list(at_once(BUYERS, buyer))


def stocked_variant(company, locations, units: tuple[int, int]) -> Variant:
    variant = VariantFactory(company=company)
    for location, quantity in zip(locations, units, strict=True):
        if quantity:
            stock_receive(
                company=company,
                variant=variant,
                location=location,
                quantity=quantity,
                unit_cost=Decimal("2.50"),
            )
    return variant


def assert_books_balance(company, variant: Variant, reserved: int, on_hand: int) -> None:
    with tenant_context(company):
        levels = list(StockLevel.objects.filter(variant=variant))
    assert sum(level.reserved for level in levels) == reserved
    assert sum(level.on_hand for level in levels) == on_hand
    assert all(0 <= level.reserved <= level.on_hand for level in levels)
    assert stock_drift(company=company) == []


@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_get_exactly_the_units_there_are() -> None:
    company = CompanyFactory()
    locations = [
        LocationFactory(company=company, name="Warehouse", allocation_priority=1),
        LocationFactory(company=company, name="Store", allocation_priority=2),
    ]
    web = ChannelFactory(company=company)

    for units in [(1, 0), (6, 4), (17, 13), (30, 19), (0, 2)]:
        stock = sum(units)
        variant = stocked_variant(company, locations, units)
        outcomes = race(
            company,
            lambda index, sku=variant.sku: stock_reserve(
                company=company,
                channel=web,
                lines=[ReserveLine(sku, 1)],
                ttl=timedelta(minutes=10),
            ),
        )

        kinds = Counter(type(outcome).__name__ for outcome in outcomes)
        assert kinds == {"Reservation": stock, "InsufficientStock": BUYERS - stock}, outcomes
        assert all(
            outcome.code == "insufficient_stock"
            for outcome in outcomes
            if isinstance(outcome, InsufficientStock)
        )
        assert_books_balance(company, variant, reserved=stock, on_hand=stock)


@pytest.mark.django_db(transaction=True)
def test_baskets_in_any_line_order_neither_deadlock_nor_oversell() -> None:
    """Half the buyers list A before B, half B before A: locks are taken in one order anyway."""
    company = CompanyFactory()
    locations = [
        LocationFactory(company=company, name="Warehouse", allocation_priority=1),
        LocationFactory(company=company, name="Store", allocation_priority=2),
    ]
    web = ChannelFactory(company=company)
    first = stocked_variant(company, locations, (10, 10))
    second = stocked_variant(company, locations, (7, 8))

    def basket(index: int) -> object:
        lines = [ReserveLine(first.sku, 1), ReserveLine(second.sku, 1)]
        return stock_reserve(
            company=company,
            channel=web,
            lines=lines if index % 2 else lines[::-1],
            ttl=timedelta(minutes=10),
        )

    outcomes = race(company, basket)

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Reservation": 15, "InsufficientStock": BUYERS - 15}, outcomes
    assert_books_balance(company, first, reserved=15, on_hand=20)
    assert_books_balance(company, second, reserved=15, on_hand=15)
