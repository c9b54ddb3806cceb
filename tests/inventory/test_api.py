"""POST /api/v1/inventory/reservations and the steps of a reservation's life, over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pasar.core.tenant import tenant_context
from pasar.inventory.models import Reservation
from pasar.inventory.services import stock_receive
from pasar.tenancy.models import Role
from tests.conftest import authenticated_client, member
from tests.inventory.conftest import LevelReader, Shop
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db

RESERVATIONS = "/api/v1/inventory/reservations"


@pytest.fixture
def stocked(shop: Shop) -> Shop:
    for location, quantity in ((shop.warehouse, 2), (shop.store, 3)):
        stock_receive(
            company=shop.company,
            variant=shop.variant,
            location=location,
            quantity=quantity,
            unit_cost=Decimal("1.20"),
        )
    return shop


def body(shop: Shop, quantity: int = 3, **extra) -> dict:
    return {
        "channel": "web",
        "ttl_seconds": 600,
        "lines": [{"sku": shop.variant.sku, "quantity": quantity}],
        **extra,
    }


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    envelope = response.json()
    assert envelope["status"] == "error"
    assert envelope["error"]["code"] == code
    assert envelope["error"]["message"]
    return envelope["error"]


def reservation_count(shop: Shop) -> int:
    with tenant_context(shop.company):
        return Reservation.objects.count()


def test_reserve_answers_201_with_the_split_allocation(
    stocked: Shop, owner_client, levels: LevelReader
) -> None:
    response = owner_client.post(RESERVATIONS, body(stocked), format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["channel"], data["status"]) == ("web", "pending")
    assert data["lines"] == [{"sku": stocked.variant.sku, "quantity": 3}]
    assert sorted((a["location_name"], a["quantity"]) for a in data["allocations"]) == [
        ("Jurong warehouse", 2),
        ("Tiong Bahru store", 1),
    ]
    assert levels(stocked.variant, stocked.store) == (3, 1)


def test_short_stock_answers_409_naming_the_lines(stocked: Shop, owner_client) -> None:
    response = owner_client.post(RESERVATIONS, body(stocked, quantity=6), format="json")

    error = assert_error(response, 409, "insufficient_stock")
    assert error["details"] == [{"sku": stocked.variant.sku, "requested": 6, "available": 5}]
    assert reservation_count(stocked) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"sku": "X", "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "X", "quantity": -1}]}, "lines.0.quantity"),
        ({"lines": []}, "lines"),
        ({"ttl_seconds": 0}, "ttl_seconds"),
        ({"channel": "ebay"}, "channel"),
        ({"discount": 5}, "discount"),
    ],
)
def test_bad_input_answers_400_and_reserves_nothing(
    stocked: Shop, owner_client, change: dict, field: str
) -> None:
    response = owner_client.post(RESERVATIONS, {**body(stocked), **change}, format="json")

    error = assert_error(response, 400, "invalid")
    assert field in {detail.get("field") for detail in error["details"]}
    assert reservation_count(stocked) == 0


def test_unknown_sku_answers_400(stocked: Shop, owner_client) -> None:
    payload = {**body(stocked), "lines": [{"sku": "NOPE-1", "quantity": 1}]}
    error = assert_error(
        owner_client.post(RESERVATIONS, payload, format="json"), 400, "unknown_sku"
    )
    assert error["details"] == [{"sku": "NOPE-1", "code": "unknown_sku"}]


def test_channel_the_company_does_not_sell_through_answers_400(stocked: Shop, owner_client) -> None:
    response = owner_client.post(RESERVATIONS, body(stocked, channel="qoo10"), format="json")
    assert_error(response, 400, "unknown_channel")


def test_same_idempotency_key_returns_the_same_reservation(stocked: Shop, owner_client) -> None:
    first = owner_client.post(
        RESERVATIONS, body(stocked, quantity=1), format="json", HTTP_IDEMPOTENCY_KEY="cart-9"
    )
    again = owner_client.post(
        RESERVATIONS, body(stocked, quantity=1), format="json", HTTP_IDEMPOTENCY_KEY="cart-9"
    )
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    assert again.json()["data"] == first.json()["data"]
    assert reservation_count(stocked) == 1


def test_the_answer_shows_the_reservation_as_reading_it_back_does(
    stocked: Shop, owner_client
) -> None:
    """The 201 is built from what the reservation just wrote, without reading it back."""
    created = owner_client.post(RESERVATIONS, body(stocked, quantity=3), format="json")
    assert created.status_code == 201, created.content

    read_back = owner_client.get(f"{RESERVATIONS}/{created.json()['data']['id']}")
    assert read_back.json()["data"] == created.json()["data"]


def test_commit_fulfil_and_release_over_http(
    stocked: Shop, owner_client, levels: LevelReader
) -> None:
    paid = owner_client.post(RESERVATIONS, body(stocked, quantity=2), format="json").json()
    cancelled = owner_client.post(RESERVATIONS, body(stocked, quantity=1), format="json").json()
    paid_url = f"{RESERVATIONS}/{paid['data']['id']}"

    assert owner_client.post(f"{paid_url}/commit").json()["data"]["status"] == "committed"
    assert owner_client.post(f"{paid_url}/fulfil").json()["data"]["status"] == "fulfilled"
    release = owner_client.post(f"{RESERVATIONS}/{cancelled['data']['id']}/release")
    assert release.json()["data"]["status"] == "released"
    assert owner_client.get(paid_url).json()["data"]["status"] == "fulfilled"

    assert levels(stocked.variant, stocked.warehouse) == (0, 0)
    assert levels(stocked.variant, stocked.store) == (3, 0)
    assert_error(owner_client.post(f"{paid_url}/release"), 409, "reservation_closed")


def test_another_companys_reservation_is_not_found(stocked: Shop, other_company) -> None:
    outsider = member(other_company, Role.OWNER)
    client = authenticated_client(outsider, other_company)
    theirs = authenticated_client(member(stocked.company, Role.OWNER), stocked.company)
    created = theirs.post(RESERVATIONS, body(stocked, quantity=1), format="json").json()

    url = f"{RESERVATIONS}/{created['data']['id']}"
    assert_error(client.get(url), 404, "reservation_not_found")
    assert_error(client.post(f"{url}/commit"), 404, "reservation_not_found")


def test_finance_may_look_but_not_reserve(stocked: Shop) -> None:
    client = authenticated_client(member(stocked.company, Role.FINANCE), stocked.company)
    assert_error(client.post(RESERVATIONS, body(stocked), format="json"), 403, "permission_denied")


def test_sales_staff_may_reserve(stocked: Shop) -> None:
    client = authenticated_client(member(stocked.company, Role.SALES), stocked.company)
    other = VariantFactory(company=stocked.company)
    payload = {**body(stocked), "lines": [{"sku": other.sku, "quantity": 1}]}
    assert_error(client.post(RESERVATIONS, payload, format="json"), 409, "insufficient_stock")
    assert client.post(RESERVATIONS, body(stocked, quantity=1), format="json").status_code == 201
