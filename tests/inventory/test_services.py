from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from pasar.core.errors import Conflict, NotFound
from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.inventory.models import (
    AllocationState,
    MovementKind,
    Reservation,
    ReservationAllocation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    VariantCost,
)
from pasar.inventory.selectors import (
    channel_sellable,
    movement_history,
    reservation_get,
    stock_drift,
    stock_levels,
)
from pasar.inventory.services import (
    InsufficientStock,
    InvalidStockRequest,
    ReservationClosed,
    ReservationExpired,
    ReserveLine,
    UnknownSku,
    channel_buffer_set,
    channel_create,
    reservations,
    reservations_release_expired,
    stock_adjust,
    stock_commit,
    stock_count_correct,
    stock_fulfil,
    stock_level_set_reorder,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_return,
    stock_transfer,
)
from pasar.inventory.tasks import release_expired_reservations
from tests.factories import LocationFactory
from tests.inventory.conftest import FakeClock, LevelReader, Shop
from tests.inventory.factories import ChannelFactory, VariantFactory

pytestmark = pytest.mark.django_db

TEN_MINUTES = timedelta(minutes=10)


def receive(shop: Shop, location, quantity: int, cost: str = "4.00", variant=None, **kwargs):
    return stock_receive(
        company=shop.company,
        variant=variant or shop.variant,
        location=location,
        quantity=quantity,
        unit_cost=Decimal(cost),
        **kwargs,
    )


def reserve(shop: Shop, quantity: int, *, variant=None, channel=None, **kwargs):
    sku = (variant or shop.variant).sku
    return stock_reserve(
        company=shop.company,
        channel=channel or shop.web,
        lines=[ReserveLine(sku=sku, quantity=quantity)],
        ttl=kwargs.pop("ttl", TEN_MINUTES),
        **kwargs,
    )


def allocations_of(shop: Shop, reservation) -> list[tuple[str, int, str]]:
    with tenant_context(shop.company):
        return [
            (allocation.level.location.name, allocation.quantity, allocation.state)
            for allocation in reservation.allocations.select_related("level__location")
        ]


def movements_of(shop: Shop) -> list[tuple[str, str, int]]:
    with tenant_context(shop.company):
        return list(
            StockMovement.objects.order_by("id").values_list("kind", "location__name", "quantity")
        )


# --- Receipts, returns, adjustments, transfers and counts ---


def test_receipt_adds_units_and_records_a_movement(shop: Shop, levels: LevelReader) -> None:
    movement = receive(shop, shop.warehouse, 12, "3.50", source_type="purchase", source_id="PO-7")

    assert levels(shop.variant, shop.warehouse) == (12, 0)
    assert (movement.kind, movement.quantity, movement.unit_cost) == (
        MovementKind.RECEIPT,
        12,
        Decimal("3.5000"),
    )
    assert (movement.source_type, movement.source_id) == ("purchase", "PO-7")


def test_receipts_move_the_weighted_average_cost(shop: Shop) -> None:
    receive(shop, shop.warehouse, 10, "4.00")
    receive(shop, shop.store, 5, "5.00")

    with tenant_context(shop.company):
        average = VariantCost.objects.get(variant=shop.variant).average_cost
    # (10 x 4.00 + 5 x 5.00) / 15 = 4.3333...
    assert average == Decimal("4.3333")


def test_a_sale_carries_the_average_cost_and_leaves_it_unchanged(shop: Shop) -> None:
    receive(shop, shop.warehouse, 2, "3.00")
    receive(shop, shop.warehouse, 2, "4.00")
    reservation = reserve(shop, 3)
    stock_commit(company=shop.company, reservation=reservation)
    stock_fulfil(company=shop.company, reservation=reservation)

    with tenant_context(shop.company):
        sale = StockMovement.objects.get(kind=MovementKind.SALE)
        assert VariantCost.objects.get(variant=shop.variant).average_cost == Decimal("3.5000")
    assert (sale.quantity, sale.unit_cost) == (-3, Decimal("3.5000"))


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_receipt_of_no_units_is_refused(shop: Shop, quantity) -> None:
    with pytest.raises(InvalidStockRequest):
        receive(shop, shop.warehouse, quantity)
    assert movements_of(shop) == []


@pytest.mark.parametrize("cost", ["-0.01", "NaN", "100000000"])
def test_receipt_with_an_impossible_cost_is_refused(shop: Shop, cost: str) -> None:
    with pytest.raises(InvalidStockRequest):
        receive(shop, shop.warehouse, 1, cost)
    assert movements_of(shop) == []


def test_return_puts_units_back(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.store, 1, "2.00")
    stock_return(company=shop.company, variant=shop.variant, location=shop.store, quantity=2)
    assert levels(shop.variant, shop.store) == (3, 0)
    assert movements_of(shop)[-1] == (MovementKind.RETURN, "Tiong Bahru store", 2)


def test_adjustment_needs_a_reason(shop: Shop) -> None:
    with pytest.raises(InvalidStockRequest) as refused:
        stock_adjust(
            company=shop.company, variant=shop.variant, location=shop.store, quantity=3, reason=" "
        )
    assert refused.value.details[0]["field"] == "reason"


def test_adjustment_below_zero_is_refused_and_writes_nothing(
    shop: Shop, levels: LevelReader
) -> None:
    receive(shop, shop.store, 2)
    with pytest.raises(InsufficientStock):
        stock_adjust(
            company=shop.company,
            variant=shop.variant,
            location=shop.store,
            quantity=-3,
            reason="broken",
        )
    assert levels(shop.variant, shop.store) == (2, 0)
    assert len(movements_of(shop)) == 1


def test_adjustment_cannot_write_off_promised_units(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 3)
    reserve(shop, 2)
    with pytest.raises(InsufficientStock):
        stock_adjust(
            company=shop.company,
            variant=shop.variant,
            location=shop.warehouse,
            quantity=-2,
            reason="damaged",
        )
    stock_adjust(
        company=shop.company,
        variant=shop.variant,
        location=shop.warehouse,
        quantity=-1,
        reason="damaged",
    )
    assert levels(shop.variant, shop.warehouse) == (2, 2)


def test_transfer_moves_units_with_a_linked_pair_of_movements(
    shop: Shop, levels: LevelReader
) -> None:
    receive(shop, shop.warehouse, 10)
    out, into = stock_transfer(
        company=shop.company,
        variant=shop.variant,
        from_location=shop.warehouse,
        to_location=shop.store,
        quantity=4,
    )
    assert levels(shop.variant, shop.warehouse) == (6, 0)
    assert levels(shop.variant, shop.store) == (4, 0)
    assert (out.kind, out.quantity, into.kind, into.quantity) == (
        MovementKind.TRANSFER_OUT,
        -4,
        MovementKind.TRANSFER_IN,
        4,
    )
    assert out.source_id == into.source_id != ""


def test_transfer_to_the_same_location_is_refused(shop: Shop) -> None:
    receive(shop, shop.warehouse, 10)
    with pytest.raises(InvalidStockRequest) as refused:
        stock_transfer(
            company=shop.company,
            variant=shop.variant,
            from_location=shop.warehouse,
            to_location=shop.warehouse,
            quantity=1,
        )
    assert refused.value.code == "same_location"


def test_transfer_cannot_move_promised_units(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 3)
    reserve(shop, 2)
    with pytest.raises(InsufficientStock):
        stock_transfer(
            company=shop.company,
            variant=shop.variant,
            from_location=shop.warehouse,
            to_location=shop.store,
            quantity=2,
        )
    assert levels(shop.variant, shop.store) == (0, 0)
    assert levels(shop.variant, shop.warehouse) == (3, 2)


def test_count_posts_the_difference_as_a_count_correction(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.store, 10)
    movement = stock_count_correct(
        company=shop.company, variant=shop.variant, location=shop.store, counted=7
    )
    assert (movement.kind, movement.quantity) == (MovementKind.COUNT_CORRECTION, -3)
    assert levels(shop.variant, shop.store) == (7, 0)
    assert (
        stock_count_correct(
            company=shop.company, variant=shop.variant, location=shop.store, counted=7
        )
        is None
    )


def test_count_below_promised_units_is_refused(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 5)
    reserve(shop, 4)
    with pytest.raises(InsufficientStock) as refused:
        stock_count_correct(
            company=shop.company, variant=shop.variant, location=shop.warehouse, counted=3
        )
    assert refused.value.code == "count_below_reserved"
    assert levels(shop.variant, shop.warehouse) == (5, 4)


def test_reorder_point_and_quantity_are_kept_on_the_level(shop: Shop) -> None:
    level = stock_level_set_reorder(
        company=shop.company,
        variant=shop.variant,
        location=shop.store,
        reorder_point=3,
        reorder_quantity=12,
    )
    assert (level.on_hand, level.reorder_point, level.reorder_quantity) == (0, 3, 12)


def test_another_companys_location_is_not_found(shop: Shop, other_company) -> None:
    elsewhere = LocationFactory(company=other_company)
    with pytest.raises(NotFound):
        receive(shop, elsewhere, 1)


def test_every_movement_announces_the_new_level(shop: Shop) -> None:
    receive(shop, shop.store, 4)
    with tenant_context(shop.company):
        event = OutboxEvent.objects.get(topic="stock.changed")
    assert (event.payload["on_hand"], event.payload["quantity"]) == (4, 4)


# --- Reservations ---


def test_reservation_draws_from_the_first_priority_location_first(
    shop: Shop, levels: LevelReader
) -> None:
    receive(shop, shop.store, 5)
    receive(shop, shop.warehouse, 5)
    reservation = reserve(shop, 3)
    assert reservation.status == ReservationStatus.PENDING
    assert allocations_of(shop, reservation) == [("Jurong warehouse", 3, AllocationState.OPEN)]
    assert levels(shop.variant, shop.warehouse) == (5, 3)


def test_reservation_splits_when_one_location_lacks_enough(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 2)
    receive(shop, shop.store, 5)
    reservation = reserve(shop, 4)
    assert sorted(allocations_of(shop, reservation)) == [
        ("Jurong warehouse", 2, AllocationState.OPEN),
        ("Tiong Bahru store", 2, AllocationState.OPEN),
    ]
    assert levels(shop.variant, shop.warehouse) == (2, 2)
    assert levels(shop.variant, shop.store) == (5, 2)


def test_inactive_location_is_not_drawn_from(shop: Shop) -> None:
    receive(shop, shop.warehouse, 5)
    with tenant_context(shop.company):
        shop.warehouse.is_active = False
        shop.warehouse.save()
    with pytest.raises(InsufficientStock):
        reserve(shop, 1)


def test_reservation_is_all_or_nothing_and_names_the_short_lines(
    shop: Shop, levels: LevelReader
) -> None:
    plenty = VariantFactory(company=shop.company, sku="TEH-TARIK")
    receive(shop, shop.warehouse, 10, variant=plenty)
    receive(shop, shop.warehouse, 1)
    with pytest.raises(InsufficientStock) as refused:
        stock_reserve(
            company=shop.company,
            channel=shop.web,
            lines=[ReserveLine("TEH-TARIK", 3), ReserveLine(shop.variant.sku, 2)],
            ttl=TEN_MINUTES,
        )
    assert refused.value.status == 409
    assert refused.value.details == [{"sku": shop.variant.sku, "requested": 2, "available": 1}]
    assert levels(plenty, shop.warehouse) == (10, 0)


def test_lines_for_the_same_sku_are_reserved_together(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 5)
    stock_reserve(
        company=shop.company,
        channel=shop.web,
        lines=[ReserveLine(shop.variant.sku, 2), ReserveLine(shop.variant.sku, 3)],
        ttl=TEN_MINUTES,
    )
    assert levels(shop.variant, shop.warehouse) == (5, 5)


def test_unknown_sku_is_refused(shop: Shop) -> None:
    with pytest.raises(UnknownSku) as refused:
        stock_reserve(
            company=shop.company,
            channel=shop.web,
            lines=[ReserveLine("NO-SUCH", 1)],
            ttl=TEN_MINUTES,
        )
    assert refused.value.details == [{"sku": "NO-SUCH", "code": "unknown_sku"}]


def test_another_companys_sku_is_unknown(shop: Shop, other_company) -> None:
    theirs = VariantFactory(company=other_company, sku="THEIRS-1")
    with pytest.raises(UnknownSku):
        reserve(shop, 1, variant=theirs)


@pytest.mark.parametrize("quantity", [0, -2])
def test_reservation_of_no_units_is_refused(shop: Shop, quantity: int) -> None:
    receive(shop, shop.warehouse, 5)
    with pytest.raises(InvalidStockRequest) as refused:
        reserve(shop, quantity)
    assert refused.value.details[0]["field"] == "lines.0.quantity"


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(days=31)])
def test_reservation_needs_a_sensible_time_to_live(shop: Shop, ttl: timedelta) -> None:
    receive(shop, shop.warehouse, 5)
    with pytest.raises(InvalidStockRequest):
        reserve(shop, 1, ttl=ttl)


def test_same_idempotency_key_returns_the_same_reservation(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 5)
    first = reserve(shop, 2, idempotency_key="cart-81")
    again = reserve(shop, 2, idempotency_key="cart-81")
    assert again.pk == first.pk
    assert levels(shop.variant, shop.warehouse) == (5, 2)


def test_idempotency_key_reused_for_another_request_is_refused(shop: Shop) -> None:
    receive(shop, shop.warehouse, 5)
    reserve(shop, 2, idempotency_key="cart-81")
    with pytest.raises(Conflict) as refused:
        reserve(shop, 3, idempotency_key="cart-81")
    assert refused.value.code == "idempotency_key_reused"


def test_commit_then_fulfil_sells_the_units(shop: Shop, levels: LevelReader, clock) -> None:
    receive(shop, shop.warehouse, 2)
    receive(shop, shop.store, 5)
    reservation = reserve(shop, 4, clock=clock)
    committed = stock_commit(company=shop.company, reservation=reservation, clock=clock)
    assert committed.status == ReservationStatus.COMMITTED
    fulfilled = stock_fulfil(company=shop.company, reservation=reservation, clock=clock)

    assert fulfilled.status == ReservationStatus.FULFILLED
    assert levels(shop.variant, shop.warehouse) == (0, 0)
    assert levels(shop.variant, shop.store) == (3, 0)
    sales = [m for m in movements_of(shop) if m[0] == MovementKind.SALE]
    assert sorted(sales) == [
        (MovementKind.SALE, "Jurong warehouse", -2),
        (MovementKind.SALE, "Tiong Bahru store", -2),
    ]
    with tenant_context(shop.company):
        sources = set(
            StockMovement.objects.filter(kind=MovementKind.SALE).values_list(
                "source_type", "source_id"
            )
        )
    assert sources == {("reservation", str(reservation.public_id))}
    # Both steps can be repeated safely (a retried webhook, a double click).
    assert stock_commit(company=shop.company, reservation=reservation).status == "fulfilled"
    assert stock_fulfil(company=shop.company, reservation=reservation).status == "fulfilled"
    assert levels(shop.variant, shop.store) == (3, 0)


def test_an_unpaid_reservation_cannot_be_shipped(shop: Shop) -> None:
    receive(shop, shop.warehouse, 2)
    reservation = reserve(shop, 1)
    with pytest.raises(ReservationClosed):
        stock_fulfil(company=shop.company, reservation=reservation)


def test_release_frees_the_units_once(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 2)
    reservation = reserve(shop, 2)
    released = stock_release(company=shop.company, reservation=reservation)
    assert released.status == ReservationStatus.RELEASED
    assert levels(shop.variant, shop.warehouse) == (2, 0)
    stock_release(company=shop.company, reservation=reservation)
    assert levels(shop.variant, shop.warehouse) == (2, 0)
    with pytest.raises(ReservationClosed):
        stock_commit(company=shop.company, reservation=reservation)


def test_a_shipped_reservation_cannot_be_released(shop: Shop) -> None:
    receive(shop, shop.warehouse, 2)
    reservation = reserve(shop, 1)
    stock_commit(company=shop.company, reservation=reservation)
    stock_fulfil(company=shop.company, reservation=reservation)
    with pytest.raises(ReservationClosed):
        stock_release(company=shop.company, reservation=reservation)


def test_the_one_statement_reservation_write_names_every_column() -> None:
    """stock_reserve writes a reservation and its allocations in one SQL statement and builds
    them from its values in the models' column order; a column added to either model must be
    added there too."""
    for model, columns in (
        (Reservation, reservations.RESERVATION_COLUMNS),
        (ReservationAllocation, reservations.ALLOCATION_COLUMNS),
    ):
        assert columns == tuple(field.attname for field in model._meta.concrete_fields)


def test_expired_reservation_stops_counting_before_any_sweep(
    shop: Shop, levels: LevelReader, clock: FakeClock
) -> None:
    receive(shop, shop.warehouse, 1)
    first = reserve(shop, 1, clock=clock)
    with pytest.raises(InsufficientStock):
        reserve(shop, 1, clock=clock)

    clock.advance(minutes=10)
    assert channel_sellable(
        company=shop.company, channel=shop.web, variants=[shop.variant], at=clock()
    ) == {shop.variant.pk: 1}
    second = reserve(shop, 1, clock=clock)

    assert levels(shop.variant, shop.warehouse) == (1, 1)
    assert allocations_of(shop, first) == [("Jurong warehouse", 1, AllocationState.RELEASED)]
    assert allocations_of(shop, second) == [("Jurong warehouse", 1, AllocationState.OPEN)]


def test_last_unit_goes_to_first_commit(shop: Shop, levels: LevelReader, clock) -> None:
    """The late payer of an expired reservation loses the unit that another order claimed."""
    receive(shop, shop.warehouse, 1)
    late = reserve(shop, 1, clock=clock)
    clock.advance(minutes=11)
    prompt = reserve(shop, 1, clock=clock)
    stock_commit(company=shop.company, reservation=prompt, clock=clock)

    with pytest.raises(ReservationExpired) as refused:
        stock_commit(company=shop.company, reservation=late, clock=clock)
    assert refused.value.status == 409
    with tenant_context(shop.company):
        late.refresh_from_db()
    assert late.status == ReservationStatus.EXPIRED
    assert levels(shop.variant, shop.warehouse) == (1, 1)


def test_late_commit_wins_when_nobody_took_the_units(
    shop: Shop, levels: LevelReader, clock: FakeClock
) -> None:
    receive(shop, shop.warehouse, 1)
    late = reserve(shop, 1, clock=clock)
    clock.advance(hours=1)
    assert stock_commit(company=shop.company, reservation=late, clock=clock).status == "committed"
    with pytest.raises(InsufficientStock):
        reserve(shop, 1, clock=clock)
    assert levels(shop.variant, shop.warehouse) == (1, 1)


def test_sweep_marks_expired_reservations_and_frees_their_units(
    shop: Shop, levels: LevelReader, clock: FakeClock
) -> None:
    receive(shop, shop.warehouse, 5)
    stale = reserve(shop, 2, clock=clock, ttl=timedelta(minutes=1))
    fresh = reserve(shop, 1, clock=clock, ttl=timedelta(minutes=30))
    paid = reserve(shop, 1, clock=clock, ttl=timedelta(minutes=1))
    stock_commit(company=shop.company, reservation=paid, clock=clock)
    clock.advance(minutes=2)

    assert reservations_release_expired(clock=clock) == 1
    assert reservations_release_expired(clock=clock) == 0
    with tenant_context(shop.company):
        statuses = {
            r.pk: r.status
            for r in [
                reservation_get(company=shop.company, public_id=x.public_id)
                for x in (stale, fresh, paid)
            ]
        }
    assert statuses == {
        stale.pk: ReservationStatus.EXPIRED,
        fresh.pk: ReservationStatus.PENDING,
        paid.pk: ReservationStatus.COMMITTED,
    }
    assert levels(shop.variant, shop.warehouse) == (5, 2)
    with pytest.raises(ReservationExpired):
        stock_commit(company=shop.company, reservation=stale, clock=clock)


def test_periodic_task_releases_what_has_expired(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 3)
    reserve(shop, 3, ttl=timedelta(seconds=1), clock=FakeClock())  # expired long ago
    release_expired_reservations()
    assert levels(shop.variant, shop.warehouse) == (3, 0)


def test_levels_show_what_is_available_now(shop: Shop, clock: FakeClock) -> None:
    receive(shop, shop.warehouse, 4)
    reserve(shop, 1, clock=clock, ttl=timedelta(minutes=1))
    reserve(shop, 2, clock=clock, ttl=timedelta(minutes=5))
    clock.advance(minutes=2)
    with tenant_context(shop.company):
        (level,) = stock_levels(company=shop.company, variant=shop.variant, at=clock())
    assert (level.on_hand, level.reserved, level.available_now) == (4, 3, 2)


# --- Channels and buffers ---


def test_channel_buffer_holds_units_back_from_that_channel_only(shop: Shop) -> None:
    receive(shop, shop.warehouse, 5)
    shopee = channel_create(company=shop.company, kind="shopee", buffer_units=2)
    with pytest.raises(InsufficientStock) as refused:
        reserve(shop, 4, channel=shopee)
    assert refused.value.details == [{"sku": shop.variant.sku, "requested": 4, "available": 3}]
    reserve(shop, 3, channel=shopee)
    assert channel_sellable(company=shop.company, channel=shopee, variants=[shop.variant]) == {
        shop.variant.pk: 0
    }
    reserve(shop, 2)  # the web channel has no buffer


def test_variant_buffer_overrides_the_channel_default(shop: Shop) -> None:
    receive(shop, shop.warehouse, 5)
    other = VariantFactory(company=shop.company)
    receive(shop, shop.warehouse, 5, variant=other)
    lazada = channel_create(company=shop.company, kind="lazada", buffer_units=1)
    channel_buffer_set(company=shop.company, channel=lazada, variant=shop.variant, units=4)
    assert channel_sellable(
        company=shop.company, channel=lazada, variants=[shop.variant, other]
    ) == {shop.variant.pk: 1, other.pk: 4}


def test_each_channel_kind_opens_once(shop: Shop) -> None:
    with pytest.raises(Conflict):
        channel_create(company=shop.company, kind="web")


def test_closed_channel_reserves_nothing(shop: Shop) -> None:
    receive(shop, shop.warehouse, 5)
    pos = ChannelFactory(company=shop.company, kind="pos", is_active=False)
    with pytest.raises(InvalidStockRequest) as refused:
        reserve(shop, 1, channel=pos)
    assert refused.value.code == "channel_closed"


# --- Checking the books ---


def test_movement_history_is_newest_first(shop: Shop) -> None:
    receive(shop, shop.warehouse, 5)
    stock_transfer(
        company=shop.company,
        variant=shop.variant,
        from_location=shop.warehouse,
        to_location=shop.store,
        quantity=2,
    )
    with tenant_context(shop.company):
        kinds = [m.kind for m in movement_history(company=shop.company, variant=shop.variant)]
    assert kinds == ["transfer_in", "transfer_out", "receipt"]


def test_check_stock_passes_when_levels_equal_their_movements(shop: Shop, capsys) -> None:
    receive(shop, shop.warehouse, 5)
    reserve(shop, 2)
    call_command("check_stock", company=shop.company.shop_slug)
    assert "every stock level equals its movements" in capsys.readouterr().out


def test_check_stock_reports_drift_and_fails(shop: Shop, capsys) -> None:
    receive(shop, shop.warehouse, 5)
    with tenant_context(shop.company):
        StockLevel.objects.filter(variant=shop.variant).update(on_hand=6)
    assert len(stock_drift(company=shop.company)) == 1
    with pytest.raises(CommandError, match="1 stock level"):
        call_command("check_stock", company=str(shop.company.public_id))
    assert "on hand 6, movements 5" in capsys.readouterr().out


def test_check_stock_names_an_unknown_company() -> None:
    with pytest.raises(CommandError, match="No company"):
        call_command("check_stock", company="no-such-shop")


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
)
def test_reservations_do_not_need_redis(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 2)
    reservation = reserve(shop, 2)
    stock_commit(company=shop.company, reservation=reservation)
    stock_fulfil(company=shop.company, reservation=reservation)
    assert levels(shop.variant, shop.warehouse) == (0, 0)


def test_a_refused_reservation_announces_nothing(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 1)
    with pytest.raises(InsufficientStock):
        reserve(shop, 2)
    created = reserve(shop, 1)
    with tenant_context(shop.company):
        announced = list(
            OutboxEvent.objects.filter(topic="reservation.created").values_list(
                "payload__reservation", flat=True
            )
        )
    assert announced == [str(created.public_id)]


def test_a_key_taken_while_waiting_for_the_levels_returns_that_reservation(
    shop: Shop, levels: LevelReader, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests with one key: the second found no reservation, then met the first's at the
    write. It writes none of its own, withdraws its announcement, keeps what its reclaim gave
    back, and answers with the first's."""
    receive(shop, shop.warehouse, 3)
    expired = reserve(shop, 2, clock=clock)
    clock.advance(minutes=11)
    first = reserve(shop, 1, idempotency_key="cart-9", clock=clock)
    assert levels(shop.variant, shop.warehouse) == (3, 1)
    # Put the expired hold back as it was, so the second request's reclaim has work to do.
    with tenant_context(shop.company):
        ReservationAllocation.objects.filter(reservation=expired).update(state=AllocationState.OPEN)
        StockLevel.objects.filter(variant=shop.variant, location=shop.warehouse).update(
            reserved=3, next_expiry=expired.expires_at
        )
        events_before = OutboxEvent.objects.count()

    calls = []
    replay = reservations._replay

    def first_finds_nothing(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return None if len(calls) == 1 else replay(*args, **kwargs)

    monkeypatch.setattr(reservations, "_replay", first_finds_nothing)
    again = reserve(shop, 1, idempotency_key="cart-9", clock=clock)

    assert again.pk == first.pk
    assert levels(shop.variant, shop.warehouse) == (3, 1)
    assert allocations_of(shop, expired) == [("Jurong warehouse", 2, AllocationState.RELEASED)]
    with tenant_context(shop.company):
        assert OutboxEvent.objects.count() == events_before
        assert Reservation.objects.filter(idempotency_key="cart-9").count() == 1


def test_a_refusal_leaves_the_callers_transaction_usable_and_announces_nothing(
    shop: Shop, levels: LevelReader
) -> None:
    """No savepoint wraps a reservation in a transaction that already acts for the company:
    a caller that catches the refusal goes on, and no event claims a reservation was made."""
    receive(shop, shop.warehouse, 1)
    with tenant_context(shop.company):
        events_before = OutboxEvent.objects.count()
        with pytest.raises(InsufficientStock):
            reserve(shop, 2)
        assert OutboxEvent.objects.count() == events_before
        made = reserve(shop, 1)
        assert OutboxEvent.objects.filter(topic="reservation.created").count() == 1
    assert levels(shop.variant, shop.warehouse) == (1, 1)
    assert allocations_of(shop, made) == [("Jurong warehouse", 1, AllocationState.OPEN)]
