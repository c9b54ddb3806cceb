"""The stock pages of the back office, through Django's test client, role by role."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pasar.core.tenant import tenant_context
from pasar.inventory import services
from pasar.inventory.models import MovementKind, StockMovement
from pasar.inventory.views import on_hand_chart
from pasar.tenancy.models import Role, User
from tests.conftest import member
from tests.factories import CompanyFactory
from tests.inventory.conftest import Shop, level_of

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


@pytest.fixture
def stocked(shop: Shop) -> Shop:
    """20 units at the store with a reorder point of 5, and 3 at the warehouse (reorder at 4)."""
    services.stock_receive(
        company=shop.company,
        variant=shop.variant,
        location=shop.store,
        quantity=20,
        unit_cost=Decimal("4.10"),
    )
    services.stock_receive(
        company=shop.company,
        variant=shop.variant,
        location=shop.warehouse,
        quantity=3,
        unit_cost=Decimal("4.10"),
    )
    for location, point in ((shop.store, 5), (shop.warehouse, 4)):
        services.stock_level_set_reorder(
            company=shop.company,
            variant=shop.variant,
            location=location,
            reorder_point=point,
            reorder_quantity=12,
        )
    return shop


def history_url(shop: Shop) -> str:
    return reverse("inventory:movement_history", args=[shop.variant.public_id])


def adjust_url(shop: Shop) -> str:
    return reverse("inventory:stock_adjust", args=[shop.variant.public_id])


# -- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_can_look_at_stock(stocked: Shop, role: str) -> None:
    client = signed_in(member(stocked.company, role))
    for url in (
        reverse("inventory:stock_levels"),
        reverse("inventory:low_stock"),
        history_url(stocked),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert stocked.variant.sku in page_text(response)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.OWNER, True),
        (Role.ADMIN, True),
        (Role.WAREHOUSE, True),
        (Role.SALES, False),
        (Role.FINANCE, False),
    ],
)
def test_only_stock_managers_may_adjust(stocked: Shop, role: str, allowed: bool) -> None:
    client = signed_in(member(stocked.company, role))
    response = client.post(
        adjust_url(stocked),
        {"location": stocked.store.public_id, "quantity": "-2", "reason": "Dropped at the counter"},
    )
    assert response.status_code == (302 if allowed else 403)
    level = level_of(stocked.company, stocked.variant, stocked.store)
    assert level is not None
    assert level.on_hand == (18 if allowed else 20)
    history = page_text(client.get(history_url(stocked)))
    assert ("Record adjustment" in history) is allowed


def test_another_companys_variant_is_not_found(stocked: Shop) -> None:
    client = signed_in(member(CompanyFactory(), Role.OWNER))
    assert client.get(history_url(stocked)).status_code == 404
    assert client.post(adjust_url(stocked), {"quantity": "1", "reason": "x"}).status_code == 404


# -- levels and low stock -------------------------------------------------------------------


def test_levels_show_each_location_and_highlight_the_low_one(stocked: Shop) -> None:
    text = page_text(
        signed_in(member(stocked.company, Role.SALES)).get(reverse("inventory:stock_levels"))
    )
    assert stocked.store.name in text
    assert stocked.warehouse.name in text
    assert text.count('class="is-low"') == 1  # the warehouse: 3 on hand, reorder at 4


def test_levels_filter_by_location_text_and_low_only(stocked: Shop) -> None:
    client = signed_in(member(stocked.company, Role.OWNER))
    url = reverse("inventory:stock_levels")
    at_store = page_text(client.get(url, {"location": stocked.store.public_id}))
    assert stocked.store.name in at_store
    assert f'<td data-label="Location">{stocked.warehouse.name}</td>' not in at_store
    low = page_text(client.get(url, {"low": "1"}))
    assert f'<td data-label="Location">{stocked.warehouse.name}</td>' in low
    assert f'<td data-label="Location">{stocked.store.name}</td>' not in low
    assert "Nothing matches" in page_text(client.get(url, {"q": "no such thing"}))


def test_empty_stock_pages_say_what_to_do(shop: Shop) -> None:
    client = signed_in(member(shop.company, Role.WAREHOUSE))
    assert "No stock recorded yet" in page_text(client.get(reverse("inventory:stock_levels")))
    assert "Nothing is running low" in page_text(client.get(reverse("inventory:low_stock")))


def test_the_low_stock_list_names_what_to_reorder(stocked: Shop) -> None:
    text = page_text(
        signed_in(member(stocked.company, Role.ADMIN)).get(reverse("inventory:low_stock"))
    )
    assert stocked.variant.sku in text
    assert stocked.warehouse.name in text
    assert stocked.store.name not in text


# -- history, chart and adjustments ---------------------------------------------------------


def test_history_lists_movements_newest_first_with_a_chart(stocked: Shop) -> None:
    services.stock_adjust(
        company=stocked.company,
        variant=stocked.variant,
        location=stocked.store,
        quantity=-1,
        reason="Bag split open",
    )
    text = page_text(signed_in(member(stocked.company, Role.WAREHOUSE)).get(history_url(stocked)))
    assert text.index("Bag split open") < text.index("Receipt")
    assert '<svg class="chart"' in text
    assert "From 0 to 22 units" in text
    assert " style=" not in text.split('<svg class="chart"')[1].split("</svg>")[0]


def test_an_adjustment_needs_a_reason_and_a_non_zero_quantity(stocked: Shop) -> None:
    client = signed_in(member(stocked.company, Role.WAREHOUSE))
    no_reason = client.post(
        adjust_url(stocked), {"location": stocked.store.public_id, "quantity": "3", "reason": ""}
    )
    assert no_reason.status_code == 400
    assert "Say why the stock changes" in page_text(no_reason)
    zero = client.post(
        adjust_url(stocked), {"location": stocked.store.public_id, "quantity": "0", "reason": "x"}
    )
    assert zero.status_code == 400
    with tenant_context(stocked.company):
        assert not StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).exists()


def test_writing_off_more_than_is_there_is_refused_next_to_the_quantity(stocked: Shop) -> None:
    response = signed_in(member(stocked.company, Role.WAREHOUSE)).post(
        adjust_url(stocked),
        {"location": stocked.warehouse.public_id, "quantity": "-5", "reason": "Damaged"},
    )
    assert response.status_code == 400
    assert "cannot be written off" in page_text(response)
    level = level_of(stocked.company, stocked.variant, stocked.warehouse)
    assert level is not None
    assert level.on_hand == 3


def test_the_chart_walks_back_from_todays_figure() -> None:
    end = timezone.now()
    start = end - timedelta(days=30)
    movements = [
        StockMovement(quantity=10, created_at=start + timedelta(days=5)),
        StockMovement(quantity=-4, created_at=start + timedelta(days=20)),
    ]
    chart = on_hand_chart(now_units=8, movements=movements, start=start, end=end, reorder_point=5)
    assert (chart.start_units, chart.end_units) == (2, 8)
    assert (chart.lowest_units, chart.highest_units) == (2, 12)
    assert chart.line.startswith(f"M{chart.left:.1f},")
    assert chart.line.count("V") == 2
    assert [tick.label for tick in chart.y_ticks] == ["0", "10", "20"]
    assert chart.reorder_y is not None
    assert chart.top <= chart.reorder_y <= chart.bottom
