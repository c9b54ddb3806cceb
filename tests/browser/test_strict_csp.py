"""Pages with heavy scripts still work under the strict Content-Security-Policy.

The `page` fixture fails a test on any CSP violation the browser reports; the API reference
gets its own tab, because Redoc asks for one third-party image that the policy rightly blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from pasar.tenancy.flags import flag_is_active
from pasar.tenancy.models import Flag
from tests.factories import PASSWORD, CompanyFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def docs_page(browser: Browser, live_server: LiveServer) -> Iterator[tuple[Page, list[str]]]:
    """A tab that records CSP violations instead of failing on them."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    violations: list[str] = []
    tab.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield tab, violations
    context.close()


def test_api_reference_renders(docs_page: tuple[Page, list[str]]) -> None:
    page, violations = docs_page
    page.goto("/api/docs/")
    heading = page.get_by_role("heading", name=re.compile(r"^Pasar API"))
    expect(heading).to_be_visible(timeout=30_000)
    # The search box runs its index in a blob: worker, which the page's policy allows.
    page.get_by_placeholder("Search...").fill("token")
    expect(page.get_by_role("menuitem").first).to_be_visible()
    # Redoc's footer shows a logo from cdn.redoc.ly; the policy blocks it (no third-party
    # requests) and nothing else.
    assert violations, "expected the Redocly logo to be blocked"
    assert all("https://cdn.redoc.ly/" in violation for violation in violations), violations


def test_staff_switch_a_flag_on_for_one_company_in_the_admin(page: Page) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    kopi = CompanyFactory(legal_name="Kopi Kakis Pte. Ltd.")
    lion = CompanyFactory(legal_name="Lion Brew Pte. Ltd.")

    page.goto("/admin/login/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto("/admin/tenancy/flag/add/")
    page.get_by_label("Name").fill("paynow_qr")
    # The two-box company picker is built by the admin's own script.
    page.locator("#id_companies_from").select_option(label=str(kopi))
    page.locator("#id_companies_add").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was added successfully")).to_be_visible()

    flag = Flag.objects.get(name="paynow_qr")
    assert list(flag.companies.all()) == [kopi]
    assert flag_is_active(kopi, "paynow_qr")
    assert not flag_is_active(lion, "paynow_qr")
