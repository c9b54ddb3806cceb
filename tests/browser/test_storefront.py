"""A shopper on a phone (390 x 844) buys from the shop in a real browser and pays by PayNow
through the sandbox; the merchant sees the order paid and the stock held for it.

Screenshots of each step are kept in var/artifacts/storefront/ (or PASAR_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from pasar.catalog.models import Category, TaxCode
from pasar.core.tenant import tenant_context
from pasar.inventory import services as inventory_services
from pasar.inventory.models import ReservationStatus, StockLevel
from pasar.payments import services as payment_services
from pasar.sales import services as sales_services
from pasar.sales.models import DeliveryKind, DeliveryMethod, Order, OrderStatus
from pasar.tenancy.models import Company, Role, User
from tests.factories import (
    PASSWORD,
    CompanyFactory,
    LocationFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
)
from tests.inventory.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


class CategoryFactory(TenantFactory):
    class Meta:
        model = Category


@pytest.fixture
def shop() -> Company:
    company = CompanyFactory(
        legal_name="Kopi Kakis Pte. Ltd.",
        shop_slug="kopi-kakis",
        gst_registered=True,
        gst_number="M90312345A",
    )
    owner = cast(User, UserFactory(email="owner@kopikakis.example"))
    MembershipFactory(company=company, user=owner, role=Role.OWNER)
    cafe = LocationFactory(company=company, name="Tiong Bahru Cafe", kind="store")
    beans = CategoryFactory(company=company, name="Coffee beans", slug="coffee-beans")
    for sku, name, price in (
        ("KK-KOPI-250", "Kopi O blend 250 g", "18.90"),
        ("KK-SUMATRA-250", "Sumatra Mandheling 250 g", "22.50"),
    ):
        variant = VariantFactory(
            company=company,
            sku=sku,
            price=Decimal(price),
            product=ProductFactory(
                company=company, name=name, category=beans, tax_code=TaxCode.STANDARD_RATED
            ),
        )
        inventory_services.stock_receive(
            company=company, variant=variant, location=cafe, quantity=5, unit_cost=Decimal(7)
        )
    with tenant_context(company):
        DeliveryMethod.objects.create(
            company=company,
            name="Standard delivery",
            kind=DeliveryKind.FLAT_RATE,
            price=Decimal("4.00"),
            free_above=Decimal("60.00"),
        )
    sales_services.promotion_save(
        company=company,
        actor=None,
        data={"name": "Hello", "code": "HELLO5", "kind": "fixed", "value": "5"},
    )
    payment_services.sandbox_enable(company=company)
    return company


def _shot(page: Page, name: str) -> None:
    folder = Path(os.environ.get("PASAR_SCREENSHOT_DIR") or "var/artifacts/storefront")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_a_shopper_pays_by_paynow_on_a_phone_and_the_merchant_sees_it_paid(
    browser: Browser, live_server: LiveServer, shop: Company
) -> None:
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )

    # Browse: the home page, a category, a product.
    page.goto("/s/kopi-kakis/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kopi Kakis Pte. Ltd.")
    _no_sideways_scroll(page)
    _shot(page, "1-home")
    page.get_by_role("navigation", name="Categories").get_by_role(
        "link", name="Coffee beans"
    ).click()
    expect(page.get_by_test_id("product-grid").get_by_role("listitem")).to_have_count(2)
    page.get_by_role("link", name=re.compile("Kopi O blend")).click()
    expect(page.get_by_test_id("price")).to_have_text("S$18.90")
    _no_sideways_scroll(page)
    _shot(page, "2-product")
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()

    # A second product, from search.
    page.get_by_label("Search the shop").fill("sumatra")
    page.get_by_label("Search the shop").press("Enter")
    page.get_by_role("link", name=re.compile("Sumatra Mandheling")).click()
    page.get_by_label("Quantity").fill("2")
    page.get_by_test_id("add-to-cart").click()

    # The cart, with a code.
    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    page.get_by_label("Promotion code").fill("hello5")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("HELLO5 is applied.")).to_be_visible()
    # 18.90 + 2 x 22.50 = 63.90, less 5.00: 58.90 before delivery, chosen at checkout.
    expect(page.get_by_test_id("total")).to_have_text("S$58.90")
    _no_sideways_scroll(page)
    _shot(page, "3-cart")
    page.get_by_test_id("checkout").click()

    # Checkout as a guest.
    page.get_by_label("Email", exact=True).fill("aisyah@example.com")
    page.get_by_label("Full name").fill("Nur Aisyah")
    page.get_by_label("Mobile number").fill("+65 9123 4567")
    page.get_by_label("Postal code").fill("560123")
    page.get_by_label("Block or house number").fill("123")
    page.get_by_label("Street", exact=True).fill("Ang Mo Kio Avenue 3")
    page.get_by_label(re.compile(r"^Unit")).fill("#05-12")
    _shot(page, "4-checkout")
    page.get_by_test_id("continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and pay")
    # Under the 60.00 free-delivery threshold: 4.00 delivery.
    expect(page.get_by_test_id("total")).to_have_text("S$62.90")
    _no_sideways_scroll(page)
    _shot(page, "5-review")
    page.get_by_test_id("place-order").click()

    # The sandbox's PayNow page: its QR, then "Pay".
    expect(page.get_by_text("Sandbox: no real money moves")).to_be_visible()
    _shot(page, "6-paynow")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_test_id("confirmation")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    _no_sideways_scroll(page)
    _shot(page, "7-confirmation")
    assert violations == [], violations
    context.close()

    with tenant_context(shop):
        order = Order.objects.select_related("reservation").get()
        levels = {
            lvl.variant.sku: (lvl.on_hand, lvl.reserved)
            for lvl in StockLevel.objects.select_related("variant")
        }
    assert order.status == OrderStatus.PAID
    assert order.total == Decimal("62.90")
    assert order.reservation.status == ReservationStatus.COMMITTED
    assert levels == {"KK-KOPI-250": (5, 1), "KK-SUMATRA-250": (5, 2)}

    # The merchant's order list shows it paid.
    office = browser.new_context(base_url=live_server.url, viewport=PHONE)
    staff = office.new_page()
    staff.goto("/login/")
    staff.get_by_label("Email", exact=True).fill("owner@kopikakis.example")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto("/office/sales/orders/")
    row = staff.get_by_test_id("order-table").get_by_role("row", name=re.compile(order.number))
    expect(row).to_contain_text("Paid")
    expect(row).to_contain_text("S$62.90")
    _shot(staff, "8-merchant-orders")
    office.close()
