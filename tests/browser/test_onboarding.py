"""What a new shop owner does in a real browser: sign up, set up the company, add a location."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from pasar.tenancy.models import Company
from tests.factories import PASSWORD, valid_uen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_owner_signs_up_sets_up_the_company_and_lands_in_the_back_office(
    page: Page,
) -> None:
    page.goto("/signup/")
    page.get_by_label("Work email").fill("mei.ling@example.com")
    page.get_by_label("Full name").fill("Tan Mei Ling")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/onboarding/company/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tell us about your company")
    uen = valid_uen()
    mistyped = uen[:-1] + ("A" if uen[-1] != "A" else "B")
    page.get_by_label("Registered company name").fill("Kaya Toast Pte. Ltd.")
    page.get_by_label("UEN", exact=True).fill(mistyped)
    # The GST details stay out of the way until the company says it is registered.
    expect(page.get_by_label("GST registration number")).to_be_hidden()
    page.get_by_role("button", name="Save and continue").click()

    uen_error = page.locator("#id_uen_error")
    expect(uen_error).to_have_text(
        "That UEN's check letter is wrong; check it against your ACRA record."
    )
    expect(page.get_by_label("UEN", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_be_focused()
    assert not Company.objects.exists()

    page.get_by_label("UEN", exact=True).fill(uen)
    page.get_by_label("The company is registered for GST").check()
    page.get_by_label("GST registration number").fill(uen)
    page.get_by_label("Monthly").check()
    page.get_by_label("Address line 1").fill("12 Kaya Lane")
    page.get_by_label("Postal code").fill("238801")
    page.get_by_role("button", name="Save and continue").click()

    expect(page).to_have_url(re.compile(r"/onboarding/location/$"))
    expect(page.get_by_text("Kaya Toast Pte. Ltd. is on Pasar.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Katong Shop")
    page.get_by_label("Store").check()
    page.get_by_role("button", name="Finish set-up").click()

    expect(page).to_have_url(re.compile(r"/office/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Kaya Toast Pte. Ltd.")
    checklist = page.get_by_role("region", name="Setting up Kaya Toast Pte. Ltd.")
    expect(checklist).to_contain_text("Company details (done)")
    expect(checklist).to_contain_text("Where you keep stock (done)")
    expect(checklist.get_by_role("link", name="Products")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Katong Shop is ready to hold stock.")
    expect(page.locator(".facts")).to_contain_text(uen)
    expect(page.get_by_role("region", name="Locations")).to_contain_text("Katong Shop")
    company = Company.objects.get(uen=uen)
    assert (company.gst_number, company.gst_period, company.shop_slug) == (
        uen,
        "monthly",
        "kaya-toast",
    )
