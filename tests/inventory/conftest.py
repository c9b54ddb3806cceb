from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from pasar.catalog.models import Variant
from pasar.core.tenant import tenant_context
from pasar.inventory.models import Channel, Location, StockLevel
from pasar.tenancy.models import Company
from tests.factories import LocationFactory
from tests.inventory.factories import ChannelFactory, VariantFactory


class FakeClock:
    """A clock the services read instead of the wall clock; tests move it forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Shop:
    company: Company
    warehouse: Location
    store: Location
    web: Channel
    variant: Variant


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shop(company: Company) -> Shop:
    """A company with a warehouse (drawn from first), a store, a web channel and one variant."""
    return Shop(
        company=company,
        warehouse=LocationFactory(company=company, name="Jurong warehouse", allocation_priority=1),
        store=LocationFactory(company=company, name="Tiong Bahru store", allocation_priority=2),
        web=ChannelFactory(company=company),
        variant=VariantFactory(company=company),
    )


def level_of(company: Company, variant: Variant, location: Location) -> StockLevel | None:
    with tenant_context(company):
        return StockLevel.objects.filter(variant=variant, location=location).first()


LevelReader = Callable[[Variant, Location], tuple[int, int]]


@pytest.fixture
def levels(shop: Shop) -> LevelReader:
    """(on_hand, reserved) of a variant at a location; (0, 0) when it has no level yet."""

    def read(variant: Variant, location: Location) -> tuple[int, int]:
        level = level_of(shop.company, variant, location)
        return (0, 0) if level is None else (level.on_hand, level.reserved)

    return read
