"""Reclaiming expired holds costs what has expired, not what is open: the rows it reads stay the
same while open holds grow from 10 to 10,000, with fresh or stale table statistics. Counted
with PostgreSQL's own per-transaction counters, not timed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pasar.core.tenant import tenant_context
from pasar.inventory.models import AllocationState, ReservationAllocation, StockLevel
from pasar.inventory.services import stock_receive
from pasar.inventory.services.levels import _lock_levels, _reclaim_expired, _save_levels
from tests.inventory.conftest import Shop

# Committed rows, so that the owner's own connection can ANALYZE what the test wrote.
pytestmark = pytest.mark.django_db(transaction=True)

ALLOCATIONS = "inventory_reservationallocation"


def hold(shop: Shop, level: StockLevel, count: int, *, expires_in: timedelta) -> None:
    """`count` pending one-unit reservations on `level`, written as the service writes them."""
    expires_at = timezone.now() + expires_in
    with tenant_context(shop.company), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH reservation AS (
                INSERT INTO inventory_reservation
                    (public_id, company_id, channel_id, status, idempotency_key, expires_at,
                     created_at)
                SELECT gen_random_uuid(), %(company)s, %(channel)s, 'pending', '', %(expires)s,
                       now()
                FROM generate_series(1, %(count)s)
                RETURNING id
            )
            INSERT INTO inventory_reservationallocation
                (company_id, reservation_id, level_id, quantity, state, holds_until)
            SELECT %(company)s, reservation.id, %(level)s, 1, 'open', %(expires)s
            FROM reservation
            """,
            {
                "company": shop.company.pk,
                "channel": shop.web.pk,
                "expires": expires_at,
                "count": count,
                "level": level.pk,
            },
        )
        cursor.execute(
            "UPDATE inventory_stocklevel SET reserved = reserved + %s,"
            " next_expiry = least(next_expiry, %s) WHERE id = %s",
            [count, expires_at, level.pk],
        )


def rows_read() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_xact_user_tables WHERE relname = %s",
            [ALLOCATIONS],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def reclaim_reads(shop: Shop, level: StockLevel) -> tuple[int, int]:
    """(rows of allocations the reclaim read, units it freed) on the locked level."""
    with tenant_context(shop.company):
        levels = _lock_levels([level.pk])
        reserved_before = levels[level.pk].reserved
        now = timezone.now()
        before = rows_read()
        _reclaim_expired(levels, now=now)
        after = rows_read()
        _save_levels(levels.values(), now)  # as every caller does with what it freed
        return after - before, reserved_before - levels[level.pk].reserved


def analyse_as_the_owner() -> None:
    """ANALYZE as the tables' owner (the app role may not): the planner's statistics then
    describe the table as it is at this moment."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    ) as owner:
        owner.execute(f"ANALYZE {ALLOCATIONS}")


@pytest.fixture
def stocked_level(shop: Shop) -> StockLevel:
    stock_receive(
        company=shop.company,
        variant=shop.variant,
        location=shop.warehouse,
        quantity=20_000,
        unit_cost=Decimal("1.00"),
    )
    with tenant_context(shop.company):
        return StockLevel.objects.get(variant=shop.variant, location=shop.warehouse)


@pytest.mark.parametrize("statistics", ["fresh", "stale"])
def test_reclaim_reads_the_same_rows_with_10_or_10000_holds_open(
    shop: Shop, stocked_level: StockLevel, statistics: str
) -> None:
    # Stale: analysed while nearly empty, as at the start of a sale; fresh: after each batch.
    analyse_as_the_owner()
    read: dict[int, int] = {}
    open_so_far = 0
    for open_holds in (10, 1_000, 10_000):
        hold(shop, stocked_level, open_holds - open_so_far, expires_in=timedelta(minutes=10))
        open_so_far = open_holds
        hold(shop, stocked_level, 2, expires_in=-timedelta(seconds=1))  # two expired holds
        if statistics == "fresh":
            analyse_as_the_owner()
        read[open_holds], freed = reclaim_reads(shop, stocked_level)
        assert freed == 2
    # Two expired holds released and one entry for the next expiry: the same at each size.
    assert read[10] == read[1_000] == read[10_000], read
    assert read[10_000] <= 4, read
    with tenant_context(shop.company):
        level = StockLevel.objects.get(pk=stocked_level.pk)
        open_units = sum(
            ReservationAllocation.objects.filter(
                level=level, state=AllocationState.OPEN
            ).values_list("quantity", flat=True)
        )
    assert level.reserved == open_units == 10_000
    assert level.next_expiry is not None
    assert level.next_expiry > timezone.now()


def test_a_level_whose_next_expiry_lies_ahead_asks_nothing(
    shop: Shop, stocked_level: StockLevel
) -> None:
    hold(shop, stocked_level, 100, expires_in=timedelta(minutes=10))
    with tenant_context(shop.company):
        levels = _lock_levels([stocked_level.pk])
        with CaptureQueriesContext(connection) as queries:
            _reclaim_expired(levels, now=timezone.now())
    assert len(queries) == 0
