"""The back office's order screens, walked as each role would."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client

from pasar.core.tenant import tenant_context
from pasar.sales import services
from pasar.sales.models import Cart, Order, OrderLine, OrderStatus, Promotion
from pasar.tenancy.models import Role, User
from tests.conftest import member
from tests.sales.conftest import Store, reload

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def paid(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> Order:
    return pay_order(services.order_place(company=store.company, cart=filled_cart((store.kopi, 2))))


def test_every_role_sees_the_paid_order_in_the_list(store: Store, paid: Order) -> None:
    for role in Role:
        page = signed_in(member(store.company, role)).get("/office/sales/orders/?status=paid")
        assert page.status_code == 200, role
        assert paid.number in page.content.decode()


def test_warehouse_ships_from_the_order_page(store: Store, paid: Order) -> None:
    client = signed_in(member(store.company, Role.WAREHOUSE))
    detail = client.get(f"/office/sales/orders/{paid.public_id}/").content.decode()
    assert "Record shipment" in detail
    assert "Cancel order" not in detail  # warehouse may not cancel
    with tenant_context(store.company):
        line = OrderLine.objects.get(order=paid)
    answer = client.post(
        f"/office/sales/orders/{paid.public_id}/ship/",
        {
            "location": str(store.warehouse.public_id),
            f"ship-{line.pk}": "2",
            "carrier": "Ninja Van",
            "tracking_number": "NVSG123",
        },
    )
    assert answer.status_code == 302
    assert reload(store.company, paid).status == OrderStatus.SHIPPED


def test_sales_may_not_cancel_a_paid_order_because_that_refunds(store: Store, paid: Order) -> None:
    client = signed_in(member(store.company, Role.SALES))
    answer = client.post(f"/office/sales/orders/{paid.public_id}/cancel/", {"reason": "asked"})
    assert answer.status_code == 403
    assert reload(store.company, paid).status == OrderStatus.PAID


def test_the_owner_cancels_and_refunds(store: Store, paid: Order) -> None:
    client = signed_in(member(store.company, Role.OWNER))
    answer = client.post(f"/office/sales/orders/{paid.public_id}/cancel/", {"reason": "No stock"})
    assert answer.status_code == 302
    assert reload(store.company, paid).status == OrderStatus.REFUNDED


def test_another_companys_order_is_a_404(store: Store, paid: Order, other_company) -> None:
    client = signed_in(member(other_company, Role.OWNER))
    assert client.get(f"/office/sales/orders/{paid.public_id}/").status_code == 404
    assert client.post(f"/office/sales/orders/{paid.public_id}/ship/", {}).status_code == 404


def test_shipping_more_than_is_left_is_a_clear_409(store: Store, paid: Order) -> None:
    client = signed_in(member(store.company, Role.WAREHOUSE))
    with tenant_context(store.company):
        line = OrderLine.objects.get(order=paid)
    answer = client.post(
        f"/office/sales/orders/{paid.public_id}/ship/",
        {"location": str(store.warehouse.public_id), f"ship-{line.pk}": "5"},
    )
    assert answer.status_code == 400
    assert "Ship at most what is left" in answer.content.decode()
    assert reload(store.company, paid).status == OrderStatus.PAID


def test_customers_and_promotions_pages(store: Store, paid: Order) -> None:
    client = signed_in(member(store.company, Role.OWNER))
    assert "siti@example.com" in client.get("/office/sales/customers/").content.decode()
    created = client.post(
        "/office/sales/promotions/",
        {"name": "Launch", "code": "LAUNCH", "kind": "percentage", "value": "10", "scope": "order"},
    )
    assert created.status_code == 302
    assert "LAUNCH" in client.get("/office/sales/promotions/").content.decode()
    refused = client.post(
        "/office/sales/promotions/",
        {"name": "Bad", "code": "BAD", "kind": "percentage", "value": "150", "scope": "order"},
    )
    assert refused.status_code == 400


@pytest.fixture
def launch(store: Store) -> Promotion:
    """LAUNCH: 10% off the order."""
    return services.promotion_save(
        company=store.company,
        actor=None,
        data={"name": "Launch", "code": "LAUNCH", "kind": "percentage", "value": "10"},
    )


def _with_launch(store: Store, filled_cart: Callable[..., Cart]) -> Cart:
    cart = filled_cart((store.kopi, 1))
    services.cart_apply_code(company=store.company, cart=cart, code="LAUNCH")
    with tenant_context(store.company):
        cart.refresh_from_db()
    return cart


def test_a_promotion_switched_off_stops_applying(
    store: Store, filled_cart: Callable[..., Cart], launch: Promotion
) -> None:
    promotion = launch
    cart = _with_launch(store, filled_cart)
    owner = signed_in(member(store.company, Role.OWNER))
    answer = owner.post(f"/office/sales/promotions/{promotion.public_id}/active/", {"active": "0"})
    assert answer.status_code == 302
    with tenant_context(store.company):
        cart.refresh_from_db()
    figures = services.cart_figures(company=store.company, cart=cart)
    assert figures.quote.discount == 0
    assert figures.outcome.refused == {"LAUNCH": "LAUNCH is not available."}
    warehouse = signed_in(member(store.company, Role.WAREHOUSE))
    refused = warehouse.post(
        f"/office/sales/promotions/{promotion.public_id}/active/", {"active": "1"}
    )
    assert refused.status_code == 403


def _fresh(store: Store, promotion: Promotion) -> Promotion:
    with tenant_context(store.company):
        return Promotion.objects.get(pk=promotion.pk)


def test_a_promotion_is_changed_from_its_page_and_orders_placed_keep_theirs(
    store: Store,
    filled_cart: Callable[..., Cart],
    pay_order: Callable[[Order], Order],
    launch: Promotion,
) -> None:
    promotion = launch
    before = pay_order(
        services.order_place(company=store.company, cart=_with_launch(store, filled_cart))
    )
    owner = signed_in(member(store.company, Role.OWNER))
    page = owner.get(f"/office/sales/promotions/{promotion.public_id}/").content.decode()
    assert 'value="LAUNCH"' in page
    assert 'value="10"' in page
    changed = owner.post(
        f"/office/sales/promotions/{promotion.public_id}/",
        {"name": "Launch week", "code": "LAUNCH", "kind": "percentage", "value": "20"},
    )
    assert changed.status_code == 302
    promotion = _fresh(store, promotion)
    assert (promotion.name, promotion.value, promotion.is_active) == ("Launch week", 20, True)
    assert reload(store.company, before).discount == Decimal("1.89")  # 10% of S$18.90, kept
    again = _with_launch(store, filled_cart)
    assert services.cart_figures(company=store.company, cart=again).quote.discount == Decimal(
        "3.78"
    )


def test_a_bad_change_is_refused_and_nothing_changes(store: Store, launch: Promotion) -> None:
    promotion = launch
    owner = signed_in(member(store.company, Role.OWNER))
    refused = owner.post(
        f"/office/sales/promotions/{promotion.public_id}/",
        {"name": "Launch", "code": "LAUNCH", "kind": "percentage", "value": "150"},
    )
    assert refused.status_code == 400
    assert "at most 100" in refused.content.decode()
    assert _fresh(store, promotion).value == 10
    staff = signed_in(member(store.company, Role.WAREHOUSE))
    assert staff.get(f"/office/sales/promotions/{promotion.public_id}/").status_code == 403


def test_a_customer_page_shows_their_orders_and_consent(store: Store, paid: Order) -> None:
    with tenant_context(store.company):
        customer = Order.objects.select_related("customer").get(pk=paid.pk).customer
    owner = signed_in(member(store.company, Role.OWNER))
    listing = owner.get("/office/sales/customers/").content.decode()
    assert f"/office/sales/customers/{customer.public_id}/" in listing
    page = owner.get(f"/office/sales/customers/{customer.public_id}/")
    assert page.status_code == 200
    assert paid.number in page.content.decode()
    assert "send no marketing" in page.content.decode()
    assert owner.get(f"/office/sales/customers/{paid.public_id}/").status_code == 404


def test_an_offer_on_chosen_products_is_made_by_their_skus(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    owner = signed_in(member(store.company, Role.OWNER))
    teh_week = {"name": "Teh week", "code": "TEH", "kind": "percentage", "value": "50"}
    teh_week["scope"] = "products"
    unknown = owner.post(
        "/office/sales/promotions/", {**teh_week, "skus": f"{store.teh.sku}, NO-SUCH-SKU"}
    )
    assert unknown.status_code == 400
    assert "NO-SUCH-SKU" in unknown.content.decode()
    with tenant_context(store.company):
        assert not Promotion.objects.filter(code="TEH").exists()
    made = owner.post("/office/sales/promotions/", {**teh_week, "skus": store.teh.sku})
    assert made.status_code == 302
    cart = filled_cart((store.kopi, 1), (store.teh, 2))
    services.cart_apply_code(company=store.company, cart=cart, code="TEH")
    with tenant_context(store.company):
        cart.refresh_from_db()
        teh = Promotion.objects.get(code="TEH")
    # Half off the two teh (S$12.50 each), nothing off the kopi.
    assert services.cart_figures(company=store.company, cart=cart).quote.discount == Decimal(
        "12.50"
    )
    page = owner.get(f"/office/sales/promotions/{teh.public_id}/").content.decode()
    assert f'value="{store.teh.sku}"' in page
