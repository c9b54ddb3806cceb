"""HitPay's charge.updated carries the charge's running total of refunds and names no refund:
Pasar books only the difference between that total and what it already booked, matched to its
own refunds pending at HitPay first."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import (
    AttemptStatus,
    Payment,
    PaymentAttempt,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookOutcome,
)
from pasar.tenancy.models import Company

pytestmark = pytest.mark.django_db

SALT = "hitpay_test_salt"
CREDENTIALS = {"api_key": "hitpay_test_key", "salt": SALT}
REQUEST_ID = "9ef68e2e-3569-4f69-9f68-04c7e4bb007c"
CHARGE_ID = "9ef68e5a-4e6b-4b1f-a3c1-2f7ef0c1d7a2"


def hitpay_event(obj: dict[str, Any], event_object: str, event_type: str) -> Any:
    body = json.dumps(obj).encode()
    headers = {
        "Content-Type": "application/json",
        "Hitpay-Signature": hmac.new(SALT.encode(), body, hashlib.sha256).hexdigest(),
        "Hitpay-Event-Object": event_object,
        "Hitpay-Event-Type": event_type,
    }
    return body, headers


def receive(company: Company, body: bytes, headers: dict[str, str]) -> services.WebhookResult:
    return services.webhook_receive(
        company_public_id=str(company.public_id), gateway="hitpay", body=body, headers=headers
    )


def charge_updated(company: Company, refunded_total: str) -> services.WebhookResult:
    status = "refunded" if Decimal(refunded_total) == Decimal("20.00") else "partially_refunded"
    return receive(
        company,
        *hitpay_event(
            {
                "id": CHARGE_ID,
                "status": status,
                "currency": "sgd",
                "amount": 20,
                "refunded_amount": float(refunded_total),
                "payment_request_id": REQUEST_ID,
            },
            "charge",
            "updated",
        ),
    )


def hitpay_refunding(status: str) -> httpx.Client:
    """HitPay finding the paid charge, then answering the refund with `status`."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(
                200,
                json={
                    "id": REQUEST_ID,
                    "status": "completed",
                    "payments": [{"id": CHARGE_ID, "status": "succeeded"}],
                },
            )
        return httpx.Response(
            201, json={"id": "rf-" + request.content.decode()[-4:], "status": status}
        )

    return httpx.Client(transport=httpx.MockTransport(handle))


def reloaded(payment: Payment) -> Payment:
    with tenant_context(payment.company_id):
        payment.refresh_from_db()
    return payment


@pytest.fixture
def paid_at_hitpay(company: Company, make_payment: Callable[..., Payment]) -> Payment:
    """20.00 captured at HitPay, told by its signed payment_request.completed webhook."""
    services.gateway_account_save(company=company, gateway="hitpay", credentials=CREDENTIALS)
    payment = make_payment("20.00")
    with tenant_context(company):
        PaymentAttempt.objects.create(
            company=company,
            payment=payment,
            gateway="hitpay",
            method="paynow",
            status=AttemptStatus.CREATED,
            idempotency_key=services.derived_key("attempt", payment.public_id),
            provider_reference=REQUEST_ID,
            created_at=payment.created_at,
        )
    result = receive(
        company,
        *hitpay_event(
            {"id": REQUEST_ID, "status": "completed", "amount": "20.00", "currency": "sgd"},
            "payment_request",
            "completed",
        ),
    )
    assert result.outcome == WebhookOutcome.PROCESSED
    return reloaded(payment)


def test_hitpay_running_total_books_only_the_difference(
    company: Company, paid_at_hitpay: Payment
) -> None:
    services.refund_create(
        payment=paid_at_hitpay,
        amount="5.00",
        actor=None,
        http={"hitpay": hitpay_refunding("succeeded")},
    )

    charge_updated(company, "5.00")
    charge_updated(company, "5.00")

    payment = reloaded(paid_at_hitpay)
    assert payment.refunded_amount == Decimal("5.00")
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    with tenant_context(company):
        assert Refund.objects.count() == 1


def test_hitpay_total_settles_a_pending_pasar_refund_instead_of_adding_one(
    company: Company, paid_at_hitpay: Payment
) -> None:
    given = services.refund_create(
        payment=paid_at_hitpay,
        amount="5.00",
        actor=None,
        http={"hitpay": hitpay_refunding("pending")},
    )
    assert given.status == RefundStatus.PENDING

    result = charge_updated(company, "5.00")

    assert result.outcome == WebhookOutcome.PROCESSED
    with tenant_context(company):
        given.refresh_from_db()
        assert Refund.objects.count() == 1
    assert given.status == RefundStatus.SUCCEEDED
    assert reloaded(paid_at_hitpay).refunded_amount == Decimal("5.00")


def test_hitpay_total_above_what_pasar_booked_records_only_the_rest(
    company: Company, paid_at_hitpay: Payment
) -> None:
    services.refund_create(
        payment=paid_at_hitpay,
        amount="5.00",
        actor=None,
        http={"hitpay": hitpay_refunding("succeeded")},
    )

    # 3.00 more refunded in HitPay's dashboard: the total says 8.00.
    charge_updated(company, "8.00")
    charge_updated(company, "8.00")

    payment = reloaded(paid_at_hitpay)
    assert payment.refunded_amount == Decimal("8.00")
    with tenant_context(company):
        amounts = sorted(Refund.objects.values_list("amount", flat=True))
    assert amounts == [Decimal("3.00"), Decimal("5.00")]
