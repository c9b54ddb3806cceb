"""The payments back office through Django's test client: payments and refunds, staff review,
gateway settings and the webhook log, and who may do what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import cast

import httpx
import pytest
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pasar.core.models import AuditEntry
from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import (
    GatewayAccount,
    Payment,
    PaymentStatus,
    Refund,
    ReviewReason,
    WebhookLog,
    WebhookOutcome,
)
from pasar.tenancy.models import Company, Role, User
from tests.conftest import member
from tests.factories import CompanyFactory
from tests.payments.conftest import sandbox_webhook

pytestmark = pytest.mark.django_db

STRIPE_SECRET = "sk_test_51HqLyjWDarjtT1zdp7dcXYZ9876"
STRIPE_WEBHOOK_SECRET = "whsec_hYq2c8bC0mkR3x4s5t6u7v5432"

MakePayment = Callable[..., Payment]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response: HttpResponseBase) -> str:
    assert isinstance(response, HttpResponse)
    return response.content.decode()


def fresh(payment: Payment) -> Payment:
    with tenant_context(payment.company_id):
        payment.refresh_from_db()
    return payment


def refund_count(company: Company) -> int:
    with tenant_context(company):
        return Refund.objects.count()


def detail_url(payment: Payment) -> str:
    return reverse("payments_office:payment_detail", args=[payment.public_id])


def refund_url(payment: Payment) -> str:
    return reverse("payments_office:payment_refund", args=[payment.public_id])


def start_and_pay(company: Company, payment: Payment, to_app: dict[str, httpx.Client]) -> Payment:
    """The shopper picks PayNow and presses "Pay" on the sandbox; its webhook lands here."""
    started = services.payment_start(
        payment=payment,
        method="paynow",
        base_url="http://testserver",
        return_url="http://testserver/done",
    )
    status = services.sandbox_charge_settle(
        company=company,
        provider_reference=started.attempt.provider_reference,
        outcome="paid",
        http=to_app,
    )
    assert status == 200
    return fresh(payment)


@pytest.fixture
def owner_client(owner: User) -> Client:
    return signed_in(owner)


@pytest.fixture
def captured(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: MakePayment,
    to_app: dict[str, httpx.Client],
) -> Payment:
    """SO-000101 for S$25.90, paid in full through the sandbox."""
    payment = start_and_pay(company, make_payment("25.90", reference="SO-000101"), to_app)
    assert payment.status == PaymentStatus.CAPTURED
    return payment


def webhook_log(company: Company) -> WebhookLog:
    with tenant_context(company):
        return WebhookLog.objects.order_by("-id").first()  # type: ignore[return-value]


# -- every page, and who may open it ------------------------------------------------------


def test_every_page_opens_for_the_owner(
    company: Company, owner_client: Client, captured: Payment
) -> None:
    log = webhook_log(company)
    for url, text in (
        (reverse("payments_office:payment_list"), "SO-000101"),
        (reverse("payments_office:payment_new"), "Create payment link"),
        (detail_url(captured), "Tries at gateways"),
        (reverse("payments_office:gateway_settings"), "Stripe"),
        (reverse("payments_office:webhook_list"), "Processed"),
        (reverse("payments_office:webhook_detail", args=[log.public_id]), "charge.succeeded"),
    ):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        assert text in page_text(response), url


def test_the_attempt_that_took_the_money_reads_paid(
    owner_client: Client, captured: Payment
) -> None:
    html = owner_client.get(detail_url(captured)).content.decode()
    attempts = html[html.index("Tries at gateways") : html.index("</table>", html.index("Tries"))]
    assert "Paid" in attempts
    assert "Created at the gateway" not in attempts


def test_the_nav_shows_payments_to_the_roles_that_may_see_them(company: Company) -> None:
    home = reverse("backoffice:home")
    link = f'href="{reverse("payments_office:payment_list")}"'
    assert link in page_text(signed_in(member(company, Role.SALES)).get(home))
    assert link not in page_text(signed_in(member(company, Role.WAREHOUSE)).get(home))


def test_empty_lists_say_where_payments_and_webhooks_come_from(owner_client: Client) -> None:
    payments = page_text(owner_client.get(reverse("payments_office:payment_list")))
    assert "No payments yet" in payments
    assert "when an order is paid" in payments
    assert "New payment link" in payments
    webhooks = page_text(owner_client.get(reverse("payments_office:webhook_list")))
    assert "No webhook calls yet" in webhooks


def test_sales_see_payments_but_may_not_refund_or_open_settings(
    company: Company, captured: Payment
) -> None:
    client = signed_in(member(company, Role.SALES))
    assert client.get(reverse("payments_office:payment_list")).status_code == 200
    detail = client.get(detail_url(captured))
    assert detail.status_code == 200
    assert "Refund</button>" not in page_text(detail)
    assert client.post(refund_url(captured), {"amount": "5.00"}).status_code == 403
    assert client.get(reverse("payments_office:gateway_settings")).status_code == 403
    assert client.get(reverse("payments_office:webhook_list")).status_code == 403
    assert fresh(captured).refunded_amount == 0
    assert refund_count(company) == 0


def test_the_warehouse_may_not_open_payments(company: Company) -> None:
    client = signed_in(member(company, Role.WAREHOUSE))
    assert client.get(reverse("payments_office:payment_list")).status_code == 403


def test_finance_may_refund(company: Company, captured: Payment) -> None:
    client = signed_in(member(company, Role.FINANCE))
    assert "Review the refund</button>" in page_text(client.get(detail_url(captured)))
    response = client.post(
        refund_url(captured), {"amount": "25.90", "reason": "Out of stock", "confirmed": "yes"}
    )
    assert response.status_code == 302
    payment = fresh(captured)
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded_amount == Decimal("25.90")


def test_an_admin_may_not_refund(company: Company, captured: Payment) -> None:
    client = signed_in(member(company, Role.ADMIN))
    assert "Refund</button>" not in page_text(client.get(detail_url(captured)))
    assert client.post(refund_url(captured), {"amount": "5.00"}).status_code == 403
    assert fresh(captured).refunded_amount == 0


def test_another_companys_payment_is_not_found(captured: Payment) -> None:
    stranger = cast(Company, CompanyFactory())
    client = signed_in(member(stranger, Role.OWNER))
    assert client.get(detail_url(captured)).status_code == 404
    assert client.post(refund_url(captured), {"amount": "1.00"}).status_code == 404


# -- payments and refunds -----------------------------------------------------------------


def test_a_payment_link_is_made_through_the_page(company: Company, owner_client: Client) -> None:
    response = owner_client.post(
        reverse("payments_office:payment_new"),
        {
            "reference": "INV-2001",
            "amount": "88.00",
            "description": "Catering",
            "ttl_minutes": "60",
        },
    )
    assert response.status_code == 302
    with tenant_context(company):
        payment = Payment.objects.get(reference="INV-2001")
    assert response["Location"] == detail_url(payment)
    assert payment.amount == Decimal("88.00")
    assert (payment.expires_at - payment.created_at).total_seconds() == 3600
    detail = page_text(owner_client.get(response["Location"]))
    pay_url = "http://testserver" + reverse(
        "payments:pay", args=[company.public_id, payment.public_id]
    )
    assert f'value="{pay_url}"' in detail
    assert "Cancel payment</button>" in detail


def test_a_reference_used_before_is_refused_next_to_the_field(
    company: Company, owner_client: Client, make_payment: MakePayment
) -> None:
    make_payment("10.00", reference="INV-7")
    response = owner_client.post(
        reverse("payments_office:payment_new"),
        {"reference": "INV-7", "amount": "12.00", "ttl_minutes": "30"},
    )
    assert response.status_code == 400
    assert "A payment for INV-7 already exists." in page_text(response)
    with tenant_context(company):
        assert Payment.objects.count() == 1


def test_the_list_filters_by_status_reference_and_review(
    company: Company, owner_client: Client, captured: Payment, make_payment: MakePayment
) -> None:
    make_payment("9.00", reference="SO-000202")
    listing = page_text(owner_client.get(reverse("payments_office:payment_list")))
    assert "SO-000101" in listing
    assert "SO-000202" in listing
    assert "Sandbox" in listing  # the gateway that took SO-000101
    url = reverse("payments_office:payment_list")
    only_captured = page_text(owner_client.get(url, {"status": "captured"}))
    assert "SO-000101" in only_captured
    assert "SO-000202" not in only_captured
    searched = page_text(owner_client.get(url, {"q": "0202"}))
    assert "SO-000202" in searched
    assert "SO-000101" not in searched
    for_review = page_text(owner_client.get(url, {"review": "1"}))
    assert "Nothing matches" in for_review


def test_a_partial_refund_through_the_page(
    company: Company, owner_client: Client, captured: Payment
) -> None:
    detail = page_text(owner_client.get(detail_url(captured)))
    # The amount starts empty: a refund is typed, never one click away.
    assert 'name="amount" value="25.90"' not in detail
    assert "Up to S$25.90 can still be refunded." in detail
    response = owner_client.post(
        refund_url(captured), {"amount": "5.00", "reason": "Torn bag", "confirmed": "yes"}
    )
    assert response.status_code == 302
    assert response["Location"] == detail_url(captured)
    payment = fresh(captured)
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunded_amount == Decimal("5.00")
    page = page_text(owner_client.get(detail_url(captured)))
    assert "Partially refunded" in page
    assert "S$5.00 refunded to the shopper." in page
    assert "Torn bag" in page
    assert "Up to S$20.90 can still be refunded." in page


def test_a_refund_asks_for_a_reason_and_a_confirmation_naming_the_way_back(
    company: Company, owner_client: Client, captured: Payment
) -> None:
    no_reason = owner_client.post(refund_url(captured), {"amount": "5.00"})
    assert no_reason.status_code == 400
    assert "Say why the money goes back." in page_text(no_reason)

    asked = owner_client.post(refund_url(captured), {"amount": "5.00", "reason": "Torn bag"})
    assert asked.status_code == 200
    text = page_text(asked)
    assert "Refund S$5.00 to the shopper?" in text
    assert "through Sandbox" in text
    assert 'name="confirmed" value="yes"' in text
    assert fresh(captured).refunded_amount == Decimal("0.00")

    done = owner_client.post(
        refund_url(captured), {"amount": "5.00", "reason": "Torn bag", "confirmed": "yes"}
    )
    assert done.status_code == 302
    assert fresh(captured).refunded_amount == Decimal("5.00")
    with tenant_context(company):
        entry = AuditEntry.objects.filter(action="payment.refund_requested").get()
    assert entry.changes["reason"] == [None, "Torn bag"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("30.00", "At most S$25.90 can still be refunded."),
        ("0.001", "The amount has more than 2 decimal places (cents) (got 0.001)."),
        ("ten", "is not a number."),
        ("28,50", "a comma only separates thousands (1,234.50)"),
        ("0", "The amount must be at least 0.01."),
        ("", "Enter an amount in dollars, e.g. 25.90."),
    ],
)
def test_a_bad_refund_amount_is_refused_on_the_form_and_changes_nothing(
    company: Company, owner_client: Client, captured: Payment, amount: str, message: str
) -> None:
    response = owner_client.post(
        refund_url(captured), {"amount": amount, "reason": "Torn bag", "confirmed": "yes"}
    )
    assert response.status_code == 400
    assert message in page_text(response)
    assert "field--error" in page_text(response)
    payment = fresh(captured)
    assert payment.refunded_amount == 0
    assert payment.status == PaymentStatus.CAPTURED
    assert refund_count(company) == 0


def test_nothing_captured_means_no_refund_form_and_a_refused_post(
    company: Company, owner_client: Client, make_payment: MakePayment
) -> None:
    payment = make_payment("10.00")
    assert "Refund</button>" not in page_text(owner_client.get(detail_url(payment)))
    response = owner_client.post(
        refund_url(payment), {"amount": "1.00", "reason": "Torn bag", "confirmed": "yes"}
    )
    assert response.status_code == 400
    assert "Nothing was captured for this payment" in page_text(response)
    assert refund_count(company) == 0


def test_an_unpaid_payment_past_its_expiry_reads_as_expired(
    owner_client: Client, make_payment: MakePayment
) -> None:
    an_hour_ago = timezone.now() - timedelta(hours=1)
    payment = make_payment("10.00", clock=lambda: an_hour_ago, ttl=timedelta(minutes=5))
    listing = page_text(owner_client.get(reverse("payments_office:payment_list")))
    assert "Past its expiry" in listing
    page = page_text(owner_client.get(detail_url(payment)))
    assert "Cancel payment</button>" not in page
    assert fresh(payment).status == PaymentStatus.EXPIRED


def test_an_open_payment_is_cancelled_by_the_button(
    company: Company, owner_client: Client, make_payment: MakePayment
) -> None:
    payment = make_payment("10.00")
    cancel = reverse("payments_office:payment_cancel", args=[payment.public_id])
    assert signed_in(member(company, Role.SALES)).post(cancel).status_code == 403
    assert owner_client.post(cancel).status_code == 302
    assert fresh(payment).status == PaymentStatus.CANCELLED
    again = owner_client.post(cancel)
    assert again.status_code == 409
    assert "cannot be cancelled" in page_text(again)


# -- staff review -------------------------------------------------------------------------


@pytest.fixture
def paid_after_cancel(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: MakePayment,
    to_app: dict[str, httpx.Client],
) -> Payment:
    """A payment the shop cancelled while the shopper was already paying it."""
    payment = make_payment("18.00", reference="SO-000303")
    started = services.payment_start(
        payment=payment,
        method="paynow",
        base_url="http://testserver",
        return_url="http://testserver/done",
    )
    services.payment_cancel(payment=payment, actor=None)
    services.sandbox_charge_settle(
        company=company,
        provider_reference=started.attempt.provider_reference,
        outcome="paid",
        http=to_app,
    )
    payment = fresh(payment)
    assert payment.review_reason == ReviewReason.CAPTURED_AFTER_CANCEL
    return payment


def review_url(payment: Payment) -> str:
    return reverse("payments_office:payment_review", args=[payment.public_id])


def test_a_late_payment_shows_the_review_panel_and_is_accepted(
    company: Company, owner_client: Client, paid_after_cancel: Payment
) -> None:
    page = page_text(owner_client.get(detail_url(paid_after_cancel)))
    assert "Needs review: Paid after the payment was cancelled" in page
    assert "Accept the payment" in page
    assert "Refund it" in page
    admin = signed_in(member(company, Role.ADMIN))
    assert "Accept the payment</button>" not in page_text(admin.get(detail_url(paid_after_cancel)))
    assert admin.post(review_url(paid_after_cancel), {"decision": "accept"}).status_code == 403

    assert (
        owner_client.post(review_url(paid_after_cancel), {"decision": "accept"}).status_code == 302
    )
    payment = fresh(paid_after_cancel)
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.review_reason == ""


def test_a_late_payment_is_refunded_in_full_from_the_review_panel(
    company: Company, owner_client: Client, paid_after_cancel: Payment
) -> None:
    response = owner_client.post(review_url(paid_after_cancel), {"decision": "refund"})
    assert response.status_code == 302
    payment = fresh(paid_after_cancel)
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded_amount == Decimal("18.00")
    assert payment.review_reason == ""
    again = owner_client.post(review_url(paid_after_cancel), {"decision": "accept"})
    assert again.status_code == 409
    assert "nothing waiting for review" in page_text(again)


# -- gateway settings ---------------------------------------------------------------------


def stripe_form(**overrides: str) -> dict[str, str]:
    data = {
        "stripe-secret_key": STRIPE_SECRET,
        "stripe-webhook_secret": STRIPE_WEBHOOK_SECRET,
        "stripe-priority": "10",
        "stripe-is_active": "on",
    }
    return data | overrides


def test_gateway_settings_never_echo_a_stored_secret(
    company: Company, owner_client: Client, sandbox: GatewayAccount
) -> None:
    url = reverse("payments_office:gateway_save", args=["stripe"])
    assert owner_client.post(url, stripe_form()).status_code == 302
    page = page_text(owner_client.get(reverse("payments_office:gateway_settings")))
    assert STRIPE_SECRET not in page
    assert STRIPE_WEBHOOK_SECRET not in page
    assert "stored: ••••9876; leave blank to keep" in page
    assert "stored: ••••5432; leave blank to keep" in page
    assert 'type="password" name="stripe-secret_key" autocomplete="off"' in page
    with tenant_context(company):
        sandbox_hint = GatewayAccount.objects.get(gateway="sandbox").credential_hints
    assert f"stored: {sandbox_hint['signing_secret']}" in page
    webhook = "http://testserver" + services.webhook_path(company, "stripe")
    assert f'value="{webhook}"' in page

    # A refused save does not send back the secret just typed, either.
    refused = owner_client.post(url, stripe_form(**{"stripe-priority": "5000"}))
    assert refused.status_code == 400
    assert STRIPE_SECRET not in page_text(refused)
    assert "Priority is at most 1000." in page_text(refused)


def test_blank_credentials_keep_what_is_stored(company: Company, owner_client: Client) -> None:
    url = reverse("payments_office:gateway_save", args=["stripe"])
    owner_client.post(url, stripe_form())
    blank = stripe_form(
        **{"stripe-secret_key": "", "stripe-webhook_secret": "", "stripe-priority": "3"}
    )
    assert owner_client.post(url, blank).status_code == 302
    with tenant_context(company):
        account = GatewayAccount.objects.get(gateway="stripe")
    assert account.priority == 3
    assert account.credential_hints["secret_key"] == "••••9876"


def test_a_gateway_turned_on_without_its_keys_says_which_are_missing(
    company: Company, owner_client: Client
) -> None:
    url = reverse("payments_office:gateway_save", args=["hitpay"])
    response = owner_client.post(
        url, {"hitpay-api_key": "key-123456789", "hitpay-priority": "20", "hitpay-is_active": "on"}
    )
    assert response.status_code == 400
    assert "Salt is needed." in page_text(response)
    with tenant_context(company):
        assert not GatewayAccount.objects.filter(gateway="hitpay").exists()


def test_finance_sees_gateways_but_may_not_change_them(company: Company) -> None:
    client = signed_in(member(company, Role.FINANCE))
    page = client.get(reverse("payments_office:gateway_settings"))
    assert page.status_code == 200
    assert '<form method="post" action="/office/payments/gateways/stripe/"' not in page_text(page)
    url = reverse("payments_office:gateway_save", args=["stripe"])
    assert client.post(url, stripe_form()).status_code == 403
    assert client.post(reverse("payments_office:sandbox_enable")).status_code == 403
    with tenant_context(company):
        assert not GatewayAccount.objects.exists()


def test_the_sandbox_is_turned_on_with_one_button(company: Company, owner_client: Client) -> None:
    settings_url = reverse("payments_office:gateway_settings")
    assert "Turn on the sandbox" in page_text(owner_client.get(settings_url))
    response = owner_client.post(reverse("payments_office:sandbox_enable"))
    assert response.status_code == 302
    with tenant_context(company):
        account = GatewayAccount.objects.get(gateway="sandbox")
    assert account.is_active
    assert "Turn on the sandbox" not in page_text(owner_client.get(settings_url))


def test_credentials_a_provider_refused_are_flagged(
    company: Company, owner_client: Client, sandbox: GatewayAccount
) -> None:
    with tenant_context(company):
        GatewayAccount.objects.filter(pk=sandbox.pk).update(credentials_rejected_at=timezone.now())
    page = page_text(owner_client.get(reverse("payments_office:gateway_settings")))
    assert "Sandbox (no real money) refused these credentials" in page


def test_an_unknown_gateway_is_not_found(owner_client: Client) -> None:
    url = reverse("payments_office:gateway_save", args=["paypal"])
    assert owner_client.post(url, {}).status_code == 404


# -- webhook log --------------------------------------------------------------------------


def test_the_log_filters_by_gateway_and_outcome(
    company: Company, owner_client: Client, captured: Payment, client: Client
) -> None:
    client.post(
        services.webhook_path(company, "sandbox"), data=b"{}", content_type="application/json"
    )
    url = reverse("payments_office:webhook_list")
    everything = page_text(owner_client.get(url))
    assert "Processed" in everything
    assert "Rejected" in everything
    assert "SO-000101" in everything
    rejected = page_text(owner_client.get(url, {"outcome": WebhookOutcome.REJECTED}))
    assert "Rejected" in rejected
    assert "SO-000101" not in rejected
    assert "Nothing matches" in page_text(owner_client.get(url, {"gateway": "stripe"}))


def test_a_webhook_body_is_shown_as_text_never_as_html(
    company: Company, owner_client: Client, sandbox: GatewayAccount, client: Client
) -> None:
    # Refused: the reason is shown; the body is not even kept.
    client.post(
        services.webhook_path(company, "sandbox"),
        data=b"<script>alert('x')</script>",
        content_type="text/html",
    )
    refused = webhook_log(company)
    assert refused.outcome == WebhookOutcome.REJECTED
    page = page_text(
        owner_client.get(reverse("payments_office:webhook_detail", args=[refused.public_id]))
    )
    assert "<script>alert" not in page
    assert "The Sandbox-Signature header is missing." in page

    # Verified, with markup inside: kept, and shown as text.
    body, headers = sandbox_webhook(
        company, event_type="charge.noted", event_id="<script>alert('x')</script>"
    )
    client.post(
        services.webhook_path(company, "sandbox"),
        data=body,
        content_type="application/json",
        headers={"Sandbox-Signature": headers["Sandbox-Signature"]},
    )
    kept = webhook_log(company)
    assert kept.outcome == WebhookOutcome.IGNORED
    page = page_text(
        owner_client.get(reverse("payments_office:webhook_detail", args=[kept.public_id]))
    )
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_a_json_body_is_indented(company: Company, owner_client: Client, captured: Payment) -> None:
    log = webhook_log(company)
    page = page_text(
        owner_client.get(reverse("payments_office:webhook_detail", args=[log.public_id]))
    )
    assert "{\n  &quot;id&quot;: " in page
    assert "sandbox-signature" in page.lower()
    assert detail_url(captured) in page


def test_the_payment_page_links_its_webhook_calls(
    company: Company, owner_client: Client, captured: Payment
) -> None:
    log = webhook_log(company)
    page = page_text(owner_client.get(detail_url(captured)))
    assert reverse("payments_office:webhook_detail", args=[log.public_id]) in page
    sales = page_text(signed_in(member(company, Role.SALES)).get(detail_url(captured)))
    assert reverse("payments_office:webhook_detail", args=[log.public_id]) not in sales


def test_the_webhook_log_is_for_managers_and_finance(company: Company) -> None:
    url = reverse("payments_office:webhook_list")
    for role, status in (
        (Role.OWNER, 200),
        (Role.ADMIN, 200),
        (Role.FINANCE, 200),
        (Role.SALES, 403),
        (Role.WAREHOUSE, 403),
    ):
        assert signed_in(member(company, role)).get(url).status_code == status, role


def test_the_sandbox_card_offers_no_live_mode(owner_client: Client) -> None:
    page = page_text(owner_client.get("/office/payments/gateways/"))
    assert 'name="sandbox-live"' not in page
    assert 'name="stripe-live"' in page
