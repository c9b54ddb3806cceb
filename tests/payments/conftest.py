from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe
from django.test import Client
from django.utils import timezone

from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.credentials import unseal
from pasar.payments.gateways import sandbox as sandbox_gateway
from pasar.payments.models import GatewayAccount, Payment, PaymentAttempt
from pasar.tenancy.models import Company

STRIPE_CREDENTIALS = {"secret_key": "sk_test_x", "webhook_secret": "whsec_test"}


def django_transport(client: Client | None = None) -> httpx.MockTransport:
    """Delivers httpx requests to this Django app, as the network would to the server."""
    django_client = client or Client()

    def handle(request: httpx.Request) -> httpx.Response:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in ("content-type", "content-length", "host")
        }
        answer = django_client.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.content,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            headers=headers,
        )
        return httpx.Response(answer.status_code, content=answer.content)

    return httpx.MockTransport(handle)


@pytest.fixture
def to_app() -> dict[str, httpx.Client]:
    """Gateway HTTP clients whose requests land on this app (the sandbox's webhooks)."""
    return {"sandbox": httpx.Client(transport=django_transport())}


@pytest.fixture
def sandbox(company: Company) -> GatewayAccount:
    return services.sandbox_enable(company=company)


@pytest.fixture
def make_payment(company: Company) -> Callable[..., Payment]:
    counter = iter(range(1, 10_000))

    def make(
        amount: str = "25.90", *, clock: Callable[[], datetime] | None = None, **kw: object
    ) -> Payment:
        return services.payment_create(
            company=company,
            reference=str(kw.pop("reference", f"SO-{next(counter):06d}")),
            amount=Decimal(amount),
            clock=clock or timezone.now,
            **kw,  # type: ignore[arg-type]
        )

    return make


class FakeClock:
    """A clock the services read instead of the wall clock; tests move it forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def timestamp(self) -> int:
        return int(self.now.timestamp())


def start_at_sandbox(
    payment: Payment, *, clock: Callable[[], datetime] = timezone.now
) -> PaymentAttempt:
    """The shopper picks PayNow: the sandbox creates its charge (nothing is paid yet)."""
    started = services.payment_start(
        payment=payment,
        method="paynow",
        base_url="http://testserver",
        return_url="http://testserver/done",
        clock=clock,
    )
    return started.attempt


@pytest.fixture
def pay(
    company: Company, sandbox: GatewayAccount, to_app: dict[str, httpx.Client]
) -> Callable[[Payment], Payment]:
    """Pay a payment in full through the sandbox: start it, press "Pay", the webhook lands."""

    def press_pay(payment: Payment) -> Payment:
        attempt = start_at_sandbox(payment)
        status = services.sandbox_charge_settle(
            company=company,
            provider_reference=attempt.provider_reference,
            outcome="paid",
            http=to_app,
        )
        assert status == 200
        with tenant_context(company):
            payment.refresh_from_db()
        return payment

    return press_pay


def sandbox_webhook(
    company: Company,
    *,
    event_type: str = "charge.succeeded",
    charge: str = "",
    payment: Payment | None = None,
    amount: str | None = None,
    currency: str = "SGD",
    event_id: str | None = None,
    at: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A webhook body as the sandbox provider sends it, signed with the company's secret."""
    with tenant_context(company):
        account = GatewayAccount.objects.get(gateway="sandbox")
    timestamp = int(timezone.now().timestamp()) if at is None else at
    data: dict[str, Any] = {"charge": charge, "currency": currency}
    if payment is not None:
        data["payment_id"] = str(payment.public_id)
        data["reference"] = payment.reference
    if amount is not None:
        data["amount"] = amount
    body = json.dumps(
        {
            "id": event_id or "sbx_evt_" + uuid.uuid4().hex,
            "type": event_type,
            "created": timestamp,
            "data": data,
        }
    ).encode()
    secret = unseal(account.credentials_encrypted)["signing_secret"]
    headers = {
        "Content-Type": "application/json",
        sandbox_gateway.SIGNATURE_HEADER: sandbox_gateway.sign(body, secret, timestamp),
    }
    return body, headers


def stripe_webhook(
    event_type: str,
    obj: dict[str, Any],
    *,
    event_id: str | None = None,
    at: int | None = None,
    secret: str = STRIPE_CREDENTIALS["webhook_secret"],
) -> tuple[bytes, dict[str, str]]:
    """A Stripe event signed the way Stripe signs it, with the official library's own signer."""
    timestamp = int(timezone.now().timestamp()) if at is None else at
    body = json.dumps(
        {
            "id": event_id or "evt_" + uuid.uuid4().hex[:24],
            "object": "event",
            "type": event_type,
            "created": timestamp,
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
    return body, {"Content-Type": "application/json", "Stripe-Signature": header}


def stripe_attempt(payment: Payment, provider_reference: str) -> PaymentAttempt:
    """A PaymentIntent created at Stripe for this payment, as payment_start would record it."""
    with tenant_context(payment.company_id):
        return PaymentAttempt.objects.create(
            company_id=payment.company_id,
            payment=payment,
            gateway="stripe",
            method="card",
            status="created",
            idempotency_key="pay_" + uuid.uuid4().hex,
            provider_reference=provider_reference,
            created_at=timezone.now(),
        )
