"""Finance keeps the books in a real browser: a supplier bill typed in and paid, the profit
and loss with its chart, and the quarter's F5 checked box by box and filed."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import cast

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from pasar.gst import services as gst_services
from pasar.ledger import services
from pasar.tenancy.models import Company, Role, User
from tests.browser.test_payments import sign_in
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def accountant() -> User:
    company = cast(
        Company,
        CompanyFactory(
            legal_name="Kopi Kakis Pte. Ltd.",
            shop_slug="kopi-kakis",
            gst_registered=True,
            gst_number="M90312345A",
        ),
    )
    user = cast(User, UserFactory(email="finance@kopikakis.example", full_name="Lim Siew Ling"))
    MembershipFactory(company=company, user=user, role=Role.FINANCE)
    services.chart_install(company=company)
    (_, end), *_ = gst_services.periods_ended(company=company, today=timezone.localdate())
    services.journal_post_manual(
        company=company,
        day=end - timedelta(days=3),
        description="Beans sold to a cafe",
        lines=[
            services.ManualLine(account_code="1100", debit=Decimal("545.00")),
            services.ManualLine(
                account_code="4000", credit=Decimal("500.00"), tax_code="SR", tax_base=Decimal(500)
            ),
            services.ManualLine(
                account_code="2100", credit=Decimal("45.00"), tax_code="SR", tax=Decimal(45)
            ),
        ],
        actor=user,
    )
    return user


def test_finance_enters_and_pays_a_bill_reads_the_profit_and_files_the_f5(
    page: Page, accountant: User
) -> None:
    sign_in(page, accountant.email)
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Books").click()
    page.get_by_role("navigation", name="Books").get_by_role("link", name="Supplier bills").click()
    expect(page.get_by_role("heading", name="No supplier bills yet")).to_be_visible()
    page.get_by_role("link", name="Enter a bill").first.click()
    today = timezone.localdate()
    page.get_by_label("Supplier", exact=True).fill("Tiong Bahru Estates Pte. Ltd.")
    page.get_by_label("Their invoice number").fill("RENT-2026-12")
    page.get_by_label("Invoice date").fill(today.isoformat())
    page.get_by_label("Due date").fill((today + timedelta(days=7)).isoformat())
    page.get_by_label("Line 1 account").select_option("6100")
    page.get_by_label("Line 1 description").fill("Shop rent, December")
    page.get_by_label("Line 1 amount").fill("3200")
    page.get_by_role("button", name="Enter bill").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BILL-000001")
    expect(page.get_by_test_id("bill-owing")).to_have_text("S$3,488.00")
    page.get_by_label("Amount paid (S$)").fill("3488.00")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_test_id("bill-owing")).to_have_text("S$0.00")

    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Books").click()
    page.get_by_role("navigation", name="Reports").get_by_role(
        "link", name="Profit and loss"
    ).click()
    page.get_by_label("From").fill((today - timedelta(days=200)).isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("img", name="Profit and loss")).to_be_visible()
    expect(page.get_by_role("cell", name="Net loss")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    page.get_by_role("navigation", name="Back office").get_by_role("link", name="GST").click()
    expect(page.get_by_test_id("box6")).to_have_text("S$45.00")
    page.get_by_role("link", name="Output tax due").click()
    expect(page.get_by_role("cell", name="Beans sold to a cafe").first).to_be_visible()
    page.go_back()
    page.get_by_role("button", name="Mark this return filed").click()
    expect(page.get_by_role("status").first).to_contain_text("marked filed")
    expect(page.get_by_test_id("f5-state")).to_have_text("Filed")
    expect(page).to_have_url(re.compile(r"/office/gst/\?start="))
