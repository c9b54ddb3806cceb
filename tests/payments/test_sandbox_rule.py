"""The sandbox is a demo and test tool: never a fallback, never offered or accepted once the
company has any real gateway account (active or not), never in production settings; and a
webhook applies only to a payment tried at that same gateway."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.test import Client

from pasar.core.tenant import tenant_context
from pasar.payments import selectors, services
from pasar.payments.models import (
    AttemptStatus,
    GatewayAccount,
    Payment,
    PaymentAttempt,
    PaymentStatus,
    WebhookLog,
)
from pasar.tenancy.models import Company
from tests.payments.conftest import (
    STRIPE_CREDENTIALS,
    sandbox_webhook,
    start_at_sandbox,
)

pytestmark = pytest.mark.django_db

HITPAY_CREDENTIALS = {"api_key": "hitpay_test_key", "salt": "hitpay_test_salt"}


def down() -> httpx.Client:
    return httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(503, json={"message": "x"}))
    )


def reloaded(payment: Payment) -> Payment:
    with tenant_context(payment.company_id):
        payment.refresh_from_db()
    return payment


def post_webhook(company: Company, gateway: str, body: bytes, headers: dict[str, str]) -> Any:
    sent = {name: value for name, value in headers.items() if name.lower() != "content-type"}
    return Client().post(
        f"/webhooks/{gateway}/{company.public_id}/",
        data=body,
        content_type="application/json",
        headers=sent,
    )


def test_the_sandbox_is_never_a_fallback_when_the_real_gateways_are_down(
    company: Company, sandbox: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    # Test-mode accounts, not live: any real gateway account ends the sandbox.
    services.gateway_account_save(
        company=company, gateway="stripe", credentials=STRIPE_CREDENTIALS, priority=10
    )
    services.gateway_account_save(
        company=company, gateway="hitpay", credentials=HITPAY_CREDENTIALS, priority=20
    )
    payment = make_payment()

    with pytest.raises(services.GatewaysUnavailable):
        services.payment_start(
            payment=payment,
            method="paynow",
            base_url="http://testserver",
            return_url="http://testserver/done",
            http={"stripe": down(), "hitpay": down()},
        )

    with tenant_context(company):
        tried = list(PaymentAttempt.objects.values_list("gateway", flat=True))
    assert "sandbox" not in tried


def test_a_switched_off_real_gateway_does_not_bring_the_sandbox_back(
    company: Company, sandbox: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    services.gateway_account_save(
        company=company,
        gateway="stripe",
        credentials=STRIPE_CREDENTIALS,
        is_active=False,
        live=True,
    )
    payment = make_payment()

    with tenant_context(company):
        assert selectors.methods_offered(company=company) == []
    page = Client().get(f"/pay/{company.public_id}/{payment.public_id}/")
    assert "sandbox" not in page.content.decode().lower()
    with pytest.raises(services.GatewaysUnavailable) as refused:
        start_at_sandbox(payment)
    assert refused.value.code == "no_gateway"


def test_a_sandbox_charge_cannot_be_paid_once_a_real_gateway_is_set_up(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    to_app: dict[str, httpx.Client],
) -> None:
    payment = make_payment()
    attempt = start_at_sandbox(payment)
    services.gateway_account_save(
        company=company, gateway="hitpay", credentials=HITPAY_CREDENTIALS, live=True
    )
    url = f"/sandbox/{company.public_id}/{attempt.provider_reference}/"

    assert Client().get(url).status_code == 404
    assert Client().post(url, {"outcome": "paid"}).status_code == 404
    with pytest.raises(services.DomainError):
        services.sandbox_charge_settle(
            company=company,
            provider_reference=attempt.provider_reference,
            outcome="paid",
            http=to_app,
        )
    body, headers = sandbox_webhook(
        company, charge=attempt.provider_reference, payment=payment, amount=str(payment.amount)
    )
    assert post_webhook(company, "sandbox", body, headers).status_code == 404
    assert reloaded(payment).status == PaymentStatus.PENDING


def test_a_sandbox_secret_never_captures_a_payment_tried_at_a_real_gateway(
    company: Company, make_payment: Callable[..., Payment]
) -> None:
    # The sandbox turned on while allowed, then a real gateway: its secret is still stored.
    services.sandbox_enable(company=company)
    services.gateway_account_save(
        company=company, gateway="stripe", credentials=STRIPE_CREDENTIALS, live=True
    )
    payment = make_payment()
    with tenant_context(company):
        PaymentAttempt.objects.create(
            company=company,
            payment=payment,
            gateway="stripe",
            method="card",
            status=AttemptStatus.CREATED,
            idempotency_key="pay_" + uuid.uuid4().hex,
            provider_reference="pi_live_1",
            created_at=payment.created_at,
        )
    body, headers = sandbox_webhook(company, payment=payment, amount=str(payment.amount))

    response = post_webhook(company, "sandbox", body, headers)

    assert response.status_code == 404
    assert reloaded(payment).status == PaymentStatus.PENDING


def test_a_webhook_applies_only_to_a_payment_tried_at_that_gateway(
    company: Company, sandbox: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    # Never started at the sandbox: a signed event naming only its payment id matches nothing.
    payment = make_payment()
    body, headers = sandbox_webhook(
        company, charge="sbx_made_up", payment=payment, amount=str(payment.amount)
    )

    response = post_webhook(company, "sandbox", body, headers)

    assert response.status_code == 200
    assert response.json()["outcome"] == "unmatched"
    assert reloaded(payment).status == PaymentStatus.PENDING


def test_a_webhook_for_a_switched_off_gateway_is_refused(
    company: Company, make_payment: Callable[..., Payment]
) -> None:
    services.sandbox_enable(company=company)
    payment = make_payment()
    attempt = start_at_sandbox(payment)
    services.gateway_account_save(
        company=company, gateway="sandbox", credentials={}, is_active=False, priority=1000
    )
    body, headers = sandbox_webhook(
        company, charge=attempt.provider_reference, payment=payment, amount=str(payment.amount)
    )

    response = post_webhook(company, "sandbox", body, headers)

    assert response.status_code == 404
    assert reloaded(payment).status == PaymentStatus.PENDING


def test_the_sandbox_is_never_used_in_production_settings(
    company: Company, make_payment: Callable[..., Payment], settings: Any
) -> None:
    services.sandbox_enable(company=company)
    payment = make_payment()
    attempt = start_at_sandbox(payment)
    settings.PASAR_ENV = "production"

    with tenant_context(company):
        assert not selectors.sandbox_allowed(company=company)
        assert selectors.methods_offered(company=company) == []
    with pytest.raises(services.DomainError):
        services.sandbox_enable(company=company)
    body, headers = sandbox_webhook(
        company, charge=attempt.provider_reference, payment=payment, amount=str(payment.amount)
    )
    assert post_webhook(company, "sandbox", body, headers).status_code == 404
    url = f"/sandbox/{company.public_id}/{attempt.provider_reference}/"
    assert Client().get(url).status_code == 404
    assert reloaded(payment).status == PaymentStatus.PENDING


def test_the_sandbox_cannot_be_turned_on_next_to_a_real_gateway(company: Company) -> None:
    services.gateway_account_save(
        company=company, gateway="hitpay", credentials=HITPAY_CREDENTIALS, is_active=False
    )

    with pytest.raises(services.DomainError) as refused:
        services.sandbox_enable(company=company)

    assert refused.value.code == "sandbox_not_allowed"
    with tenant_context(company):
        assert not GatewayAccount.objects.filter(gateway="sandbox").exists()
        assert not WebhookLog.objects.exists()


def test_the_office_button_cannot_turn_the_sandbox_on_next_to_a_real_gateway(
    company: Company, owner: Any
) -> None:
    services.gateway_account_save(
        company=company, gateway="stripe", credentials=STRIPE_CREDENTIALS, is_active=False
    )
    client = Client()
    client.force_login(owner)

    answer = client.post("/office/payments/gateways/sandbox/enable/", follow=True)

    assert answer.status_code == 200
    assert "sandbox is for demos and tests" in answer.content.decode()
    with tenant_context(company):
        assert not GatewayAccount.objects.filter(gateway="sandbox").exists()
