"""A payment taken end to end through the sandbox: start, QR, "Pay", signed webhook, captured."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.gateways.paynow import parse_payload
from pasar.payments.models import (
    AttemptStatus,
    Capture,
    PaymentStatus,
    SandboxCharge,
    WebhookLog,
    WebhookOutcome,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_sandbox_payment_is_captured_once_by_its_signed_webhook(
    company, sandbox, make_payment, to_app
):
    payment = make_payment("42.50", reference="SO-000042")
    started = services.payment_start(
        payment=payment,
        method="paynow",
        base_url="http://testserver",
        return_url="http://testserver/done",
    )
    attempt = started.attempt
    assert attempt.status == AttemptStatus.CREATED
    assert attempt.gateway == "sandbox"
    fields = parse_payload(attempt.paynow_payload)
    assert fields["54"] == "42.50"
    assert fields["62"]["01"] == "SO-000042"

    status = services.sandbox_charge_settle(
        company=company, provider_reference=attempt.provider_reference, outcome="paid", http=to_app
    )
    assert status == 200
    with tenant_context(company):
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.CAPTURED
        assert payment.captured_amount == Decimal("42.50")
        assert Capture.objects.count() == 1
        assert OutboxEvent.objects.filter(topic="payment.captured").count() == 1
        log = WebhookLog.objects.get()
        assert log.outcome == WebhookOutcome.PROCESSED
        assert log.payment_id == payment.pk

    # Pressing "Pay" again makes the provider resend: the shop takes it as a duplicate.
    services.sandbox_charge_settle(
        company=company, provider_reference=attempt.provider_reference, outcome="paid", http=to_app
    )
    with tenant_context(company):
        assert Capture.objects.count() == 1
        assert OutboxEvent.objects.filter(topic="payment.captured").count() == 1
        assert SandboxCharge.objects.get().status == "paid"


def test_pay_page_shows_the_qr_and_sends_the_shopper_to_the_sandbox(
    client, company, sandbox, make_payment
):
    payment = make_payment("12.00")
    url = f"/pay/{company.public_id}/{payment.public_id}/"
    page = client.get(url)
    assert page.status_code == 200
    assert b"Pay with PayNow" in page.content

    answer = client.post(url, {"method": "paynow"})
    assert answer.status_code == 302
    checkout = answer["Location"]
    assert checkout.startswith(f"http://testserver/sandbox/{company.public_id}/sbx_")
    sandbox_page = client.get(checkout.removeprefix("http://testserver"))
    assert sandbox_page.status_code == 200
    assert b"Pay" in sandbox_page.content
    assert b"Fail" in sandbox_page.content

    qr = client.get(url + "qr.svg")
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
