"""What a merchant meets on the first day, in a real browser at desktop and phone widths:
amounts typed the Singapore way, a refund that asks first, a delivery entered twice, and a
forgotten password."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from pasar.catalog.models import Product
from pasar.core.models import AuditEntry
from pasar.core.tenant import tenant_context
from pasar.payments import services as payments
from pasar.payments.models import Payment, PaymentStatus
from pasar.tenancy.models import Company, Role, User
from tests.catalog.helpers import product
from tests.factories import (
    PASSWORD,
    CompanyFactory,
    LocationFactory,
    MembershipFactory,
    UserFactory,
)
from tests.payments.conftest import django_transport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def owner() -> User:
    company = CompanyFactory(legal_name="Kopi Kakis Pte. Ltd.", shop_slug="kopi-kakis")
    user = UserFactory(email="owner@kopikakis.example", full_name="Tan Mei Ling")
    MembershipFactory(company=company, user=user, role=Role.OWNER)
    LocationFactory(company=company, name="Tiong Bahru Cafe", kind="store")
    product(company, "House Blend Beans", {"sku": "BEAN-1", "price": "18.00"})
    return user


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/office/$"))


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", SIZES)
def test_a_price_with_a_decimal_comma_is_refused_with_its_message(
    page: Page, owner: User, size: str, tmp_path: Path
) -> None:
    page.set_viewport_size(SIZES[size])
    sign_in(page, owner.email)
    page.goto("/office/products/new/")
    page.get_by_label("Name").fill("Kaya Toast Set")
    page.get_by_label("SKU").fill("KAYA-SET")
    page.get_by_label("Price (S$)").fill("28,50")
    page.get_by_role("button", name="Add product").click()
    expect(page.get_by_text("a comma only separates thousands")).to_be_visible()
    expect(page.get_by_text("type 28.50")).to_be_visible()
    fits(page)
    page.screenshot(path=str(tmp_path / f"price-refused-{size}.png"), full_page=True)
    company = CompanyFactory._meta.model.objects.get(shop_slug="kopi-kakis")
    with tenant_context(company):
        assert not Product.objects.filter(name="Kaya Toast Set").exists()


@pytest.fixture
def paid(owner: User) -> Payment:
    """SO-000321 for S$25.90, paid through the sandbox (its webhook delivered to this app)."""
    company = Company.objects.get(shop_slug="kopi-kakis")
    payments.sandbox_enable(company=company)
    payment = payments.payment_create(company=company, reference="SO-000321", amount="25.90")
    started = payments.payment_start(
        payment=payment,
        method="paynow",
        base_url="http://testserver",
        return_url="http://testserver/done",
    )
    payments.sandbox_charge_settle(
        company=company,
        provider_reference=started.attempt.provider_reference,
        outcome="paid",
        http={"sandbox": httpx.Client(transport=django_transport())},
    )
    with tenant_context(company):
        payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED
    return payment


@pytest.mark.parametrize("size", SIZES)
def test_a_refund_needs_a_reason_and_a_confirmation(
    page: Page, owner: User, paid: Payment, size: str
) -> None:
    page.set_viewport_size(SIZES[size])
    sign_in(page, owner.email)
    page.goto(f"/office/payments/{paid.public_id}/")
    refund = page.get_by_role("region", name="Refund", exact=True)
    amount = refund.get_by_label("Amount to refund (S$)")
    expect(amount).to_have_value("")
    amount.fill("5.00")
    refund.get_by_role("button", name="Review the refund").click()
    expect(page.get_by_text("Say why the money goes back")).to_be_visible()
    expect(page.get_by_role("alertdialog")).to_have_count(0)

    refund = page.get_by_role("region", name="Refund", exact=True)
    refund.get_by_label("Reason").fill("1 bag arrived torn")
    refund.get_by_role("button", name="Review the refund").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Refund S$5.00 to the shopper?")
    expect(confirm).to_contain_text("through Sandbox")
    fits(page)
    with tenant_context(paid.company_id):
        assert Payment.objects.get(pk=paid.pk).refunded_amount == 0
    confirm.get_by_role("button", name="Yes, refund S$5.00").click()
    expect(page.get_by_role("status").first).to_contain_text("S$5.00 refunded to the shopper.")
    with tenant_context(paid.company_id):
        assert str(Payment.objects.get(pk=paid.pk).refunded_amount) == "5.00"
        entry = AuditEntry.objects.get(action="payment.refund_requested")
    assert "1 bag arrived torn" in str(entry.changes)


@pytest.mark.parametrize("size", SIZES)
def test_a_duplicate_receipt_is_refused_then_voided(
    page: Page, owner: User, size: str, tmp_path: Path
) -> None:
    page.set_viewport_size(SIZES[size])
    sign_in(page, owner.email)

    def receive() -> None:
        page.goto("/office/stock/receipts/new/")
        page.get_by_label("Received at").select_option(label="Tiong Bahru Cafe")
        page.get_by_label("Supplier").fill("Kopi Roasters")
        page.get_by_label("Reference").fill("DO-4471")
        page.get_by_label("SKU, line 1").fill("BEAN-1")
        page.get_by_label("Quantity, line 1").fill("12")
        page.get_by_label("Unit cost (S$), line 1").fill("9.50")
        page.get_by_role("button", name="Receive goods").click()

    receive()
    expect(page.get_by_role("heading", name=re.compile("GRN-000001"))).to_be_visible()
    receive()
    expect(page.get_by_text("was already received as GRN-000001")).to_be_visible()
    fits(page)
    page.screenshot(path=str(tmp_path / f"duplicate-{size}.png"), full_page=True)

    # It really was a second delivery: confirm, then void it after all.
    page.get_by_label("Yes, this is a second delivery under the same document").check()
    page.get_by_role("button", name="Receive goods").click()
    expect(page.get_by_role("heading", name=re.compile("GRN-000002"))).to_be_visible()
    page.get_by_label("Why is it voided?").fill("entered twice")
    page.get_by_role("button", name="Void GRN-000002").click()
    expect(page.get_by_text("GRN-000002 is voided")).to_be_visible()
    expect(page.get_by_text("entered twice")).to_be_visible()
    fits(page)


@pytest.mark.parametrize("size", SIZES)
def test_a_forgotten_password_is_reset_through_the_emailed_link(
    page: Page, owner: User, size: str
) -> None:
    page.set_viewport_size(SIZES[size])
    page.goto("/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(owner.email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    [message] = mail.outbox
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body)
    assert link
    page.goto(link.group(1))
    page.get_by_role("textbox", name="New password").fill("kaya-toast-and-kopi-o")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()
    sign_in(page, owner.email, password="kaya-toast-and-kopi-o")
    fits(page)
    # The link worked once.
    page.goto(link.group(1))
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
