"""The back-office layout: reachable by keyboard, and usable on a phone."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

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


@pytest.fixture
def shop_owner() -> User:
    company = CompanyFactory(
        legal_name="Kopi Kakis Pte. Ltd.",
        shop_slug="kopi-kakis",
        gst_registered=True,
        gst_number="M90312345A",
        address_line1="78 Yong Siak Street",
        postal_code="163078",
    )
    owner = UserFactory(email="owner@kopikakis.example", full_name="Tan Mei Ling")
    MembershipFactory(company=company, user=owner, role=Role.OWNER)
    LocationFactory(company=company, name="Tiong Bahru Cafe", kind="store")
    LocationFactory(company=company, name="Jurong Warehouse", kind="warehouse")
    # A second company, so the company switcher is part of the layout under test.
    MembershipFactory(
        company=CompanyFactory(legal_name="Lion Brew Pte. Ltd."), user=owner, role=Role.ADMIN
    )
    return owner


def sign_in(page: Page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/office/$"))


def test_signing_in_works_with_the_keyboard_alone(page: Page, shop_owner: User) -> None:
    page.goto("/login/")
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()

    for _ in range(10):  # to the email field, whatever sits in the header before it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_email":
            break
    email = page.get_by_label("Email", exact=True)
    expect(email).to_be_focused()
    outline = email.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline != "none", "the focused field shows no focus ring"
    page.keyboard.type(shop_owner.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/office/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Kopi Kakis Pte. Ltd.")


def test_the_layout_fits_a_375_pixel_phone_without_sideways_scrolling(
    page: Page, shop_owner: User
) -> None:
    sign_in(page, shop_owner.email)
    for path in ["/office/", "/office/team/", "/onboarding/company/"]:
        page.set_viewport_size(PHONE)
        page.goto(path)
        widths = page.evaluate(
            "({page: document.documentElement.scrollWidth, view: window.innerWidth})"
        )
        assert widths["page"] <= widths["view"], (path, widths)
    page.context.clear_cookies()
    page.goto("/signup/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # PASAR_SCREENSHOT_DIR=/tmp keeps pictures of the home page to review the design by eye.
    if folder := os.environ.get("PASAR_SCREENSHOT_DIR"):
        sign_in(page, shop_owner.email)
        for name, size in (("desktop", DESKTOP), ("mobile", PHONE)):
            page.set_viewport_size(size)
            page.goto("/office/")
            page.screenshot(path=str(Path(folder) / f"pasar-home-{name}.png"), full_page=True)


def test_the_company_switcher_moves_between_companies(page: Page, shop_owner: User) -> None:
    sign_in(page, shop_owner.email)
    page.get_by_label("Switch company").select_option(label="Lion Brew Pte. Ltd.")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lion Brew Pte. Ltd.")
    expect(page.get_by_role("status")).to_contain_text("You are now working in Lion Brew")
    assert Company.objects.count() == 2


def test_inviting_from_the_team_page_updates_it_in_place(page: Page, shop_owner: User) -> None:
    sign_in(page, shop_owner.email)
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Team").click()
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Email", exact=True).fill("new.barista@example.com")
    page.get_by_label("Role", exact=True).select_option("sales")
    page.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_text("Invitation sent to new.barista@example.com.")).to_be_visible()
    expect(page.locator("#team-panel")).to_contain_text("new.barista@example.com")
    assert page.evaluate("window.notReloaded === true"), "htmx should swap the panel only"


PHONE_390 = {"width": 390, "height": 844}
STOCK_PAGES = [
    "/office/stock/",
    "/office/stock/low/",
    "/office/stock/transfers/",
    "/office/stock/counts/",
    "/office/stock/receipts/",
]


def test_the_stock_tabs_fit_a_phone_without_breaking_a_word(
    page: Page, shop_owner: User, tmp_path: Path
) -> None:
    sign_in(page, shop_owner.email)
    page.set_viewport_size(PHONE_390)
    folder = Path(os.environ.get("PASAR_SCREENSHOT_DIR") or tmp_path)
    for path in STOCK_PAGES:
        page.goto(path)
        widths = page.evaluate(
            "({page: document.documentElement.scrollWidth, view: window.innerWidth})"
        )
        assert widths["page"] <= widths["view"], (path, widths)
        # Each tab's label sits on one line: its box is no taller than one line of its text.
        broken = page.evaluate(
            """() => [...document.querySelectorAll('.tabs a')].filter(link => {
                const lineHeight = parseFloat(getComputedStyle(link).lineHeight) || 24;
                const range = document.createRange();
                range.selectNodeContents(link);
                return range.getClientRects().length > 1
                    || link.getBoundingClientRect().height > lineHeight * 1.9 + 16;
            }).map(link => link.textContent.trim())"""
        )
        assert broken == [], (path, broken)
        # The menu leaves most of the first screen to the page itself.
        header_height = page.evaluate(
            "document.querySelector('header') ? document.querySelector('header')"
            ".getBoundingClientRect().height : 0"
        )
        assert header_height <= PHONE_390["height"] * 0.25, (path, header_height)
    page.goto(STOCK_PAGES[0])
    page.screenshot(path=str(folder / "pasar-stock-phone.png"), full_page=False)
