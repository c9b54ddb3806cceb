"""The sales API as a shopper's app and a staff member's tool use it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from rest_framework.test import APIClient

from pasar.core.tenant import tenant_context
from pasar.payments import services as payment_services
from pasar.payments.models import PaymentAttempt
from pasar.sales import services
from pasar.sales.models import Cart, Order
from pasar.tenancy.models import Role
from tests.conftest import authenticated_client, member
from tests.sales.conftest import ADDRESS, Store

pytestmark = pytest.mark.django_db(transaction=True)


def _details(store: Store) -> dict:
    return {**ADDRESS, "delivery_method": str(store.delivery.public_id)}


def test_an_app_checks_out_through_the_api(store: Store, to_app: dict[str, httpx.Client]) -> None:
    api = APIClient()
    shop = f"/api/v1/shops/{store.company.shop_slug}"
    cart = api.post(f"{shop}/carts/").json()["data"]
    lines = api.post(
        f"{shop}/carts/{cart['id']}/lines/", {"sku": "KOPI-250", "quantity": 2}, format="json"
    )
    assert lines.status_code == 201
    details = api.put(f"{shop}/carts/{cart['id']}/details/", _details(store), format="json")
    assert details.json()["data"]["total"] == "41.80"

    placed = api.post(
        f"{shop}/carts/{cart['id']}/checkout/",
        {"expected_total": "41.80", "method": "paynow"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="app-order-1",
    )
    assert placed.status_code == 201
    body = placed.json()["data"]
    assert body["order"]["status"] == "pending_payment"
    assert body["payment"]["checkout_url"]
    again = api.post(
        f"{shop}/carts/{cart['id']}/checkout/",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY="app-order-1",
    )
    assert again.json()["data"]["order"]["number"] == body["order"]["number"]
    without_key = api.post(f"{shop}/carts/{cart['id']}/checkout/", {}, format="json")
    assert without_key.json()["data"]["order"]["number"] == body["order"]["number"]

    with tenant_context(store.company):
        attempt = PaymentAttempt.objects.get()
    payment_services.sandbox_charge_settle(
        company=store.company,
        provider_reference=attempt.provider_reference,
        outcome="paid",
        http=to_app,
    )
    order = api.get(f"{shop}/orders/{body['order']['id']}/").json()["data"]
    assert order["status"] == "paid"
    assert [line["sku"] for line in order["lines"]] == ["KOPI-250"]


def test_bad_input_is_a_clear_4xx_and_changes_nothing(store: Store) -> None:
    api = APIClient()
    shop = f"/api/v1/shops/{store.company.shop_slug}"
    cart = api.post(f"{shop}/carts/").json()["data"]
    too_many = api.post(
        f"{shop}/carts/{cart['id']}/lines/", {"sku": "TEH-100", "quantity": 9}, format="json"
    )
    assert too_many.status_code == 409
    assert too_many.json()["error"]["code"] == "insufficient_stock"
    unknown_field = api.post(
        f"{shop}/carts/{cart['id']}/lines/", {"sku": "TEH-100", "price": "0"}, format="json"
    )
    assert unknown_field.status_code == 400
    bad_postal = api.put(
        f"{shop}/carts/{cart['id']}/details/",
        {**_details(store), "postal_code": "ABC"},
        format="json",
    )
    assert bad_postal.status_code == 400
    assert {d["field"] for d in bad_postal.json()["error"]["details"]} == {"postal_code"}
    empty = api.post(f"{shop}/carts/{cart['id']}/checkout/", {}, format="json")
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "cart_empty"
    assert api.get(f"{shop}/carts/00000000-0000-0000-0000-000000000000/").status_code == 404
    unknown = api.post(
        f"{shop}/carts/{'0' * 8}-0000-0000-0000-{'0' * 12}/checkout/", {}, format="json"
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "cart_not_found"
    assert api.post(f"{shop}/carts/not-a-cart/checkout/", {}, format="json").status_code == 404
    assert api.post("/api/v1/shops/no-such-shop/carts/").status_code == 404
    with tenant_context(store.company):
        assert not Order.objects.exists()
        assert Cart.objects.get().email == ""


def test_staff_list_and_ship_orders_by_role(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    order = pay_order(
        services.order_place(company=store.company, cart=filled_cart((store.kopi, 1)))
    )
    sales = authenticated_client(member(store.company, Role.SALES), store.company)
    listed = sales.get("/api/v1/orders/?status=paid").json()
    assert [row["number"] for row in listed["data"]] == [order.number]
    assert listed["meta"]["pagination"]["total"] == 1
    refused = sales.post(
        f"/api/v1/orders/{order.public_id}/ship/",
        {"location": str(store.warehouse.public_id)},
        format="json",
    )
    assert refused.status_code == 403
    warehouse = authenticated_client(member(store.company, Role.WAREHOUSE), store.company)
    unknown = warehouse.post(
        f"/api/v1/orders/{order.public_id}/ship/",
        {"location": str(store.warehouse.public_id), "lines": {"TEH-100": 1}},
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_sku"
    shipped = warehouse.post(
        f"/api/v1/orders/{order.public_id}/ship/",
        {
            "location": str(store.warehouse.public_id),
            "lines": {"KOPI-250": 1},
            "carrier": "SingPost",
        },
        format="json",
    )
    assert shipped.status_code == 201
    assert shipped.json()["data"]["order"]["status"] == "shipped"


def test_another_companys_staff_see_none_of_the_orders(
    store: Store, filled_cart: Callable[..., Cart], other_company
) -> None:
    order = services.order_place(company=store.company, cart=filled_cart((store.kopi, 1)))
    outsider = authenticated_client(member(other_company, Role.OWNER), other_company)
    assert outsider.get("/api/v1/orders/").json()["data"] == []
    assert outsider.get(f"/api/v1/orders/{order.public_id}/").status_code == 404


def test_a_code_applied_through_the_api_is_in_the_answer(store: Store) -> None:
    services.promotion_save(
        company=store.company,
        actor=None,
        data={"name": "Launch", "code": "LAUNCH", "kind": "percentage", "value": "10"},
    )
    api = APIClient()
    shop = f"/api/v1/shops/{store.company.shop_slug}"
    cart = api.post(f"{shop}/carts/").json()["data"]["id"]
    api.post(f"{shop}/carts/{cart}/lines/", {"sku": "KOPI-250", "quantity": 1}, format="json")
    applied = api.post(f"{shop}/carts/{cart}/codes/", {"code": "launch"}, format="json")
    assert applied.status_code == 200
    answer = applied.json()["data"]
    assert answer["codes"] == ["LAUNCH"]
    assert answer["discount"] == "1.89"
