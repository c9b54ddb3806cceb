"""Stock never depends on Redis: the same day of trading gives the same levels with Redis down,
with Redis up, and without it.

The cache is the only thing the inventory could reach Redis through; the outage test points it
at a closed port (and checks that the cache really fails), the other at a real Redis.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings

from pasar.core.tenant import tenant_context
from pasar.inventory.models import Reservation, ReservationStatus
from pasar.inventory.selectors import stock_drift
from pasar.inventory.services import (
    count_post,
    count_record,
    count_start,
    purchase_receipt_create,
    stock_receive,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from tests.inventory.conftest import LevelReader, Shop

pytestmark = pytest.mark.django_db

RESERVATIONS = "/api/v1/inventory/reservations"


def redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


def trade_a_day(shop: Shop, client, levels: LevelReader) -> None:
    """Reserve, commit, fulfil and release over HTTP; transfer, receive and count by service."""
    for location, quantity in ((shop.warehouse, 5), (shop.store, 3)):
        stock_receive(
            company=shop.company,
            variant=shop.variant,
            location=location,
            quantity=quantity,
            unit_cost=Decimal("2.00"),
        )
    body = {
        "channel": "web",
        "ttl_seconds": 600,
        "lines": [{"sku": shop.variant.sku, "quantity": 6}],
    }
    sold = client.post(RESERVATIONS, body, format="json")
    assert sold.status_code == 201, sold.content
    sold_id = sold.json()["data"]["id"]
    assert client.post(f"{RESERVATIONS}/{sold_id}/commit").status_code == 200
    assert client.post(f"{RESERVATIONS}/{sold_id}/fulfil").status_code == 200

    body["lines"][0]["quantity"] = 2
    cancelled = client.post(RESERVATIONS, body, format="json")
    assert cancelled.status_code == 201
    # The last two units are held: a third buyer is refused, whatever Redis is doing.
    body["lines"][0]["quantity"] = 1
    assert client.post(RESERVATIONS, body, format="json").status_code == 409
    cancelled_id = cancelled.json()["data"]["id"]
    assert client.post(f"{RESERVATIONS}/{cancelled_id}/release").status_code == 200
    assert levels(shop.variant, shop.warehouse) == (0, 0)
    assert levels(shop.variant, shop.store) == (2, 0)

    purchase_receipt_create(
        company=shop.company,
        location=shop.warehouse,
        supplier_name="Kopi Roasters",
        reference="DO-1",
        lines=[(shop.variant.sku, 12, Decimal("2.50"))],
        actor=None,
    )
    transfer = transfer_create(
        company=shop.company,
        source=shop.warehouse,
        destination=shop.store,
        lines=[(shop.variant.sku, 4)],
        actor=None,
    )
    transfer_dispatch(transfer=transfer, actor=None)
    transfer_receive(transfer=transfer, quantities={shop.variant.sku: 4}, actor=None)
    count = count_start(company=shop.company, location=shop.store, actor=None)
    count_record(count=count, quantities={shop.variant.sku: 5}, actor=None)
    count_post(count=count, actor=None)

    assert levels(shop.variant, shop.warehouse) == (8, 0)
    assert levels(shop.variant, shop.store) == (5, 0)
    with tenant_context(shop.company):
        statuses = sorted(Reservation.objects.values_list("status", flat=True))
    assert statuses == [ReservationStatus.FULFILLED, ReservationStatus.RELEASED]
    assert stock_drift(company=shop.company) == []


def test_stock_stays_right_while_redis_is_down(
    shop: Shop, owner_client, levels: LevelReader
) -> None:
    with override_settings(CACHES=redis_cache("redis://127.0.0.1:1/0")):
        with pytest.raises(redis.exceptions.ConnectionError):
            cache.get("anything")  # the outage is real
        trade_a_day(shop, owner_client, levels)


@pytest.mark.redis
def test_a_real_redis_changes_nothing(
    shop: Shop, owner_client, levels: LevelReader, redis_url: str
) -> None:
    with override_settings(CACHES=redis_cache(redis_url)):
        cache.set("pasar-inventory-probe", "up", 5)
        assert cache.get("pasar-inventory-probe") == "up"  # the cache really is Redis
        trade_a_day(shop, owner_client, levels)


def test_without_redis_the_same_day_gives_the_same_levels(
    shop: Shop, owner_client, levels: LevelReader
) -> None:
    trade_a_day(shop, owner_client, levels)
