"""The database itself refuses impossible stock, whatever the code above it does."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, ProgrammingError, transaction
from django.utils import timezone

from pasar.core.tenant import tenant_context
from pasar.inventory.models import MovementKind, StockLevel, StockMovement
from tests.inventory.conftest import Shop

pytestmark = pytest.mark.django_db


def with_tenant(shop: Shop, work: Callable[[], Any]) -> Any:
    """Run one statement in the company's context (its own savepoint, so a failure is contained)."""
    with tenant_context(shop.company):
        return work()


def make_level(shop: Shop, **values: int) -> StockLevel:
    with tenant_context(shop.company):
        return StockLevel.objects.create(variant=shop.variant, location=shop.store, **values)


def make_movement(shop: Shop, **values) -> StockMovement:
    fields = {
        "variant": shop.variant,
        "location": shop.store,
        "kind": MovementKind.RECEIPT,
        "quantity": 1,
        "unit_cost": Decimal("1.0000"),
        "created_at": timezone.now(),
        **values,
    }
    with tenant_context(shop.company):
        return StockMovement.objects.create(**fields)


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"on_hand": -1}, "stock_level_on_hand_not_negative"),
        ({"on_hand": 2, "reserved": 3}, "stock_level_reserved_within_on_hand"),
        ({"on_hand": 2, "reserved": -1}, "stock_level_reserved_within_on_hand"),
    ],
)
def test_database_refuses_impossible_levels(shop: Shop, values, constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        make_level(shop, **values)


def test_database_refuses_an_update_that_oversells(shop: Shop) -> None:
    level = make_level(shop, on_hand=1, reserved=1)
    with pytest.raises(IntegrityError, match="reserved_within_on_hand"):
        with_tenant(shop, lambda: StockLevel.objects.filter(pk=level.pk).update(reserved=2))


def test_one_level_per_variant_and_location(shop: Shop) -> None:
    make_level(shop, on_hand=1)
    with pytest.raises(IntegrityError, match="stock_level_per_location"), transaction.atomic():
        make_level(shop, on_hand=1)


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"kind": MovementKind.COUNT_CORRECTION, "quantity": 0}, "quantity_not_zero"),
        ({"kind": MovementKind.RECEIPT, "quantity": -1}, "stock_movement_inbound_positive"),
        ({"kind": MovementKind.RETURN, "quantity": -1}, "stock_movement_inbound_positive"),
        ({"kind": MovementKind.SALE, "quantity": 1}, "stock_movement_outbound_negative"),
        ({"kind": MovementKind.TRANSFER_OUT, "quantity": 2}, "stock_movement_outbound_negative"),
        ({"kind": MovementKind.ADJUSTMENT, "quantity": -1}, "adjustment_has_reason"),
        ({"unit_cost": Decimal("-0.0001")}, "stock_movement_cost_not_negative"),
        ({"kind": "theft"}, "stock_movement_kind_known"),
    ],
)
def test_database_refuses_impossible_movements(shop: Shop, values, constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        make_movement(shop, **values)


def test_the_app_cannot_edit_movement_history(shop: Shop) -> None:
    movement = make_movement(shop)
    with pytest.raises(ProgrammingError, match="permission denied"):
        with_tenant(shop, lambda: StockMovement.objects.filter(pk=movement.pk).update(quantity=5))


def test_the_app_cannot_delete_movement_history(shop: Shop) -> None:
    movement = make_movement(shop)
    with pytest.raises(ProgrammingError, match="permission denied"):
        with_tenant(shop, lambda: StockMovement.objects.filter(pk=movement.pk).delete())
