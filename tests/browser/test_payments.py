"""An owner takes a payment end to end in a real browser: sandbox on, a payment link, the
shopper pays by PayNow on the sandbox, the webhook lands, then a partial refund.

The sandbox's "Pay" handler posts its signed webhook over HTTP to the same live server while
that request is still being served, so this needs the threaded live server pytest-django
starts (Django's LiveServerThread)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import cast

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from pasar.core.tenant import tenant_context
from pasar.payments.models import Payment, PaymentStatus, WebhookLog, WebhookOutcome
from pasar.tenancy.models import Company, Role, User
from tests.factories import (
    PASSWORD,
    CompanyFactory,
    LocationFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture
def shop_owner() -> User:
    company = CompanyFactory(legal_name="Kopi Kakis Pte. Ltd.", shop_slug="kopi-kakis")
    user = cast(User, UserFactory(email="owner@kopikakis.example", full_name="Tan Mei Ling"))
    MembershipFactory(company=company, user=user, role=Role.OWNER)
    LocationFactory(company=company, name="Tiong Bahru Cafe", kind="store")
    return user


def sign_in(page: Page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/office/$"))


def test_an_owner_takes_a_paynow_payment_through_the_sandbox_and_refunds_part(
    page: Page, shop_owner: User
) -> None:
    sign_in(page, shop_owner.email)
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Payments").click()
    expect(page.get_by_role("heading", name="No payments yet")).to_be_visible()

    # Gateways: none takes payments yet; the sandbox is one button away.
    page.get_by_role("navigation", name="Payments").get_by_role("link", name="Gateways").click()
    expect(page.get_by_text("No gateway takes payments yet.")).to_be_visible()
    page.get_by_role("button", name="Turn on the sandbox").click()
    expect(page.get_by_role("status").first).to_contain_text("The sandbox is on")
    sandbox_card = page.locator("#gateway-sandbox")
    expect(sandbox_card.get_by_text("Active", exact=True)).to_be_visible()
    expect(sandbox_card.get_by_label("Signing secret")).to_have_value("")

    # A payment link for an order taken over the phone.
    page.get_by_role("navigation", name="Payments").get_by_role("link", name="Payments").click()
    page.get_by_role("link", name="New payment link").first.click()
    page.get_by_label("Reference").fill("SO-000777")
    page.get_by_label("Amount (S$)").fill("25.90")
    page.get_by_label("Description").fill("2 bags of Sumatra beans")
    page.get_by_role("button", name="Create payment link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("SO-000777")
    expect(page.get_by_test_id("payment-status")).to_contain_text("Pending")
    detail_url = page.url
    pay_url = page.locator("#pay-link").input_value()
    assert re.fullmatch(r"http://[^/]+/pay/[0-9a-f-]{36}/[0-9a-f-]{36}/", pay_url), pay_url

    # The shopper opens the link, picks PayNow, and pays on the sandbox's checkout.
    page.goto(pay_url)
    expect(page.get_by_text("S$25.90")).to_be_visible()
    page.get_by_role("button", name="Pay with PayNow").click()
    expect(page.get_by_text("Sandbox: no real money moves")).to_be_visible()
    qr = page.get_by_role("img", name=re.compile(re.escape("PayNow QR code for S$25.90")))
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(pay_url)
    expect(page.get_by_test_id("payment-status")).to_have_text("Captured")
    expect(page.get_by_text("Thank you")).to_be_visible()

    # Back office: captured, and the webhook log holds the one call that did it.
    page.goto(detail_url)
    expect(page.get_by_test_id("payment-status")).to_contain_text("Captured")
    expect(page.get_by_role("region", name="Money taken")).to_contain_text("S$25.90")
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Payments").click()
    expect(page.locator(".table--payments")).to_contain_text("Sandbox")
    page.get_by_role("navigation", name="Payments").get_by_role("link", name="Webhook log").click()
    rows = page.locator(".table--webhooks tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Processed")
    expect(rows.first).to_contain_text("SO-000777")

    # A bag arrived torn: give back 5.00.
    webhook_url = rows.first.get_by_role("link").first.get_attribute("href")
    rows.first.get_by_role("link", name="SO-000777").click()
    refund = page.get_by_role("region", name="Refund", exact=True)
    expect(refund.get_by_label("Amount to refund (S$)")).to_have_value("")
    refund.get_by_label("Amount to refund (S$)").fill("5.00")
    refund.get_by_label("Reason").fill("1 bag arrived torn")
    refund.get_by_role("button", name="Review the refund").click()
    # Nothing is sent until the confirmation, which names the amount and the way back.
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Refund S$5.00 to the shopper?")
    expect(confirm).to_contain_text("through Sandbox")
    confirm.get_by_role("button", name="Yes, refund S$5.00").click()
    expect(page.get_by_role("status").first).to_contain_text("S$5.00 refunded to the shopper.")
    expect(page.get_by_test_id("payment-status")).to_contain_text("Partially refunded")

    company = Company.objects.get(shop_slug="kopi-kakis")
    with tenant_context(company):
        payment = Payment.objects.get(reference="SO-000777")
        outcomes = list(WebhookLog.objects.values_list("outcome", flat=True))
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunded_amount == payment.captured_amount - payment.refundable
    assert str(payment.refundable) == "20.90"
    assert outcomes == [WebhookOutcome.PROCESSED]

    # The screens fit a phone and a desktop without sideways scrolling.
    # PASAR_SCREENSHOT_DIR=/tmp keeps pictures to review by eye.
    folder = os.environ.get("PASAR_SCREENSHOT_DIR")
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for name, path in (
            ("payments", "/office/payments/"),
            ("payment", detail_url),
            ("gateways", "/office/payments/gateways/"),
            ("webhooks", "/office/payments/webhooks/"),
            ("webhook", webhook_url),
        ):
            page.goto(str(path))
            widths = page.evaluate(
                "({page: document.documentElement.scrollWidth, view: window.innerWidth})"
            )
            assert widths["page"] <= widths["view"], (name, size_name, widths)
            if folder:
                page.screenshot(
                    path=str(Path(folder) / f"pasar-{name}-{size_name}.png"), full_page=True
                )
