"""A warehouse person's day in the product and stock screens, in a real browser."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from pasar.catalog.models import Variant
from pasar.core.tenant import tenant_context
from pasar.inventory.models import StockLevel
from pasar.tenancy.models import Company, Role, User
from tests.factories import (
    PASSWORD,
    CompanyFactory,
    LocationFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
CATALOG_CSV = """sku,product_name,price,option:size,category,barcode
BEAN-SUM-250,Sumatra Mandheling Coffee Beans,19.90,250g,Coffee > Beans,8881234000019
BEAN-SUM-500,Sumatra Mandheling Coffee Beans,36.80,500g,Coffee > Beans,
BEAN-JAV-250,Java Estate Coffee Beans,18.50,250g,Coffee > Beans,
MUG-ENA-WHI,Enamel Kopi Mug,16.90,,Merchandise,
"""


@pytest.fixture
def warehouse_user() -> User:
    company = CompanyFactory(legal_name="Kopi Kakis Pte. Ltd.", shop_slug="kopi-kakis")
    user = UserFactory(email="warehouse@kopikakis.example", full_name="Lim Wei Jie")
    MembershipFactory(company=company, user=user, role=Role.WAREHOUSE)
    LocationFactory(company=company, name="Tiong Bahru Cafe", kind="store")
    return user


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/office/$"))


def test_import_search_history_and_adjust(page: Page, warehouse_user: User, tmp_path: Path) -> None:
    sign_in(page, warehouse_user.email)
    nav = page.get_by_role("navigation", name="Back office")
    nav.get_by_role("link", name="Products").click()
    expect(page.get_by_role("heading", name="No products yet")).to_be_visible()

    # Import a CSV and watch its progress reach the end.
    page.get_by_role("link", name="Import or export CSV").click()
    csv_path = tmp_path / "beans.csv"
    csv_path.write_text(CATALOG_CSV, encoding="utf-8")
    page.get_by_label("Catalog file (CSV)").set_input_files(str(csv_path))
    page.get_by_role("button", name="Start import").click()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    expect(page.get_by_text("4 of 4 rows")).to_be_visible()

    # Search, as a person types: htmx refreshes the results in place.
    page.get_by_role("link", name="See the products").click()
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Search").fill("sumatra")
    results = page.locator("#product-results")
    expect(results).to_contain_text("Sumatra Mandheling Coffee Beans")
    expect(results).not_to_contain_text("Java Estate")
    assert page.evaluate("window.notReloaded === true"), "htmx should swap the results only"
    results.get_by_role("link", name="Sumatra Mandheling Coffee Beans").click()

    # Stock of the 250g bag: nothing yet; add what was found on the shelf.
    page.get_by_role("link", name="Stock of BEAN-SUM-250").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BEAN-SUM-250")
    expect(page.locator("svg.chart")).to_be_visible()
    page.get_by_label("Change in units").fill("12")
    page.get_by_label("Reason").fill("Opening count of the shelf")
    page.get_by_role("button", name="Record adjustment").click()
    expect(page.get_by_role("status").first).to_contain_text("12 unit(s) of BEAN-SUM-250 added to")
    expect(page.locator(".table--movements")).to_contain_text("Opening count of the shelf")

    # Writing off more than is there is refused next to the quantity.
    page.get_by_label("Change in units").fill("-20")
    page.get_by_label("Reason").fill("Damaged")
    page.get_by_role("button", name="Record adjustment").click()
    expect(page.locator(".field--error")).to_contain_text("cannot be written off")

    company = Company.objects.get(shop_slug="kopi-kakis")
    with tenant_context(company):
        level = StockLevel.objects.get(variant__sku="BEAN-SUM-250")
    assert level.on_hand == 12


def test_the_screens_fit_a_phone_and_a_desktop(page: Page) -> None:
    """With the demo data; PASAR_SCREENSHOT_DIR=/tmp keeps pictures to review by eye."""
    call_command("seed_demo", orders=0, verbosity=0)
    sign_in(page, "warehouse@kopikakis.example", "pasar-demo")
    company = Company.objects.get(shop_slug="kopi-kakis")
    with tenant_context(company):
        variant = Variant.objects.get(sku="KK-BN-SUM-250")
    pages = {
        "products": "/office/products/",
        "stock": "/office/stock/",
        "history": f"/office/stock/variants/{variant.public_id}/",
    }
    folder = os.environ.get("PASAR_SCREENSHOT_DIR")
    for size_name, size in (("desktop", DESKTOP), ("mobile", PHONE)):
        page.set_viewport_size(size)
        for name, path in pages.items():
            page.goto(path)
            widths = page.evaluate(
                "({page: document.documentElement.scrollWidth, view: window.innerWidth})"
            )
            assert widths["page"] <= widths["view"], (name, size_name, widths)
            if folder:
                page.screenshot(
                    path=str(Path(folder) / f"pasar-{name}-{size_name}.png"), full_page=True
                )
    expect(page.locator("svg.chart path.chart__line")).to_have_count(1)
