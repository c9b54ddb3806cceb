"""Starting a payment across a shop's gateways: the first that takes it wins, one that fails or
times out hands over to the next, a failing one is skipped for a while, and every try is kept."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import redis
from django.core.cache import cache

from pasar.core.tenant import tenant_context
from pasar.payments import circuit, services
from pasar.payments.models import (
    AttemptStatus,
    GatewayAccount,
    Payment,
    PaymentAttempt,
    PaymentStatus,
)
from pasar.tenancy.models import Company
from tests.payments.conftest import STRIPE_CREDENTIALS

pytestmark = pytest.mark.django_db

HITPAY_CREDENTIALS = {"api_key": "hitpay_test_key", "salt": "hitpay_test_salt"}
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture(autouse=True)
def breaker_of_its_own(settings: Any) -> None:
    """The breaker's state lives in the cache; a cache of this test's own keeps a shared Redis
    (and other runs' companies with the same ids) out of it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"payments-{uuid.uuid4().hex}",
        }
    }


class FakeStripe:
    """Stripe's API as a transport: it times out, refuses the key, or creates the intent."""

    def __init__(self, answer: str = "timeout") -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []
        self.client = httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer == "timeout":
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        if self.answer == "unauthorised":
            return httpx.Response(
                401,
                json={
                    "error": {
                        "type": "invalid_request_error",
                        "message": "Invalid API Key provided: sk_test_x",
                    }
                },
            )
        return httpx.Response(
            200,
            json={
                "id": f"pi_{uuid.uuid4().hex[:24]}",
                "object": "payment_intent",
                "status": "requires_payment_method",
                "client_secret": "pi_secret",
            },
        )


def hitpay_down() -> httpx.Client:
    return httpx.Client(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(503, json={"message": "Service Unavailable"})
        )
    )


def hitpay_up() -> httpx.Client:
    """HitPay creating the payment request it is asked for."""

    def created(request: httpx.Request) -> httpx.Response:
        request_id = str(uuid.uuid4())
        return httpx.Response(
            201,
            json={
                "id": request_id,
                "status": "pending",
                "amount": "25.90",
                "currency": "sgd",
                "url": f"https://securecheckout.sandbox.hit-pay.com/payment-request/@kopi/{request_id}/checkout",
            },
        )

    return httpx.Client(transport=httpx.MockTransport(created))


@pytest.fixture
def stripe_first(company: Company) -> GatewayAccount:
    """Stripe tried first (priority 10), HitPay (priority 20) after it. (Never the sandbox: it
    is no fallback once a real gateway is set up.)"""
    services.gateway_account_save(
        company=company, gateway="hitpay", credentials=HITPAY_CREDENTIALS, priority=20
    )
    return services.gateway_account_save(
        company=company, gateway="stripe", credentials=STRIPE_CREDENTIALS, priority=10
    )


def start(payment: Payment, http: dict[str, httpx.Client], method: str = "card") -> Any:
    return services.payment_start(
        payment=payment,
        method=method,
        base_url="http://testserver",
        return_url="http://testserver/done",
        http={"hitpay": hitpay_up(), **http},
    )


def attempts_of(payment: Payment) -> list[PaymentAttempt]:
    with tenant_context(payment.company_id):
        return list(PaymentAttempt.objects.filter(payment=payment).order_by("id"))


def test_a_gateway_that_times_out_hands_the_payment_to_the_next(
    stripe_first: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    stripe_api = FakeStripe("timeout")
    payment = make_payment("42.50")

    result = start(payment, {"stripe": stripe_api.client})

    assert result.attempt.gateway == "hitpay"
    assert result.attempt.status == AttemptStatus.CREATED
    assert result.attempt.checkout_url
    stripe_try, hitpay_try = attempts_of(payment)
    assert [a.pk for a in result.attempts] == [stripe_try.pk, hitpay_try.pk]
    assert (stripe_try.gateway, stripe_try.status) == ("stripe", AttemptStatus.ERROR)
    assert stripe_try.error_kind == "GatewayUnavailable"
    assert "did not answer in time" in stripe_try.error_message
    assert (hitpay_try.gateway, hitpay_try.status) == ("hitpay", AttemptStatus.CREATED)
    assert hitpay_try.provider_reference
    [sent] = stripe_api.requests
    assert sent.headers["Idempotency-Key"] == stripe_try.idempotency_key
    assert stripe_try.idempotency_key != hitpay_try.idempotency_key
    with tenant_context(payment.company_id):
        payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_gateway_that_keeps_failing_is_skipped_without_being_called(
    stripe_first: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    stripe_api = FakeStripe("timeout")
    for _ in range(circuit.FAILURE_THRESHOLD):
        assert start(make_payment(), {"stripe": stripe_api.client}).attempt.gateway == "hitpay"
    assert len(stripe_api.requests) == circuit.FAILURE_THRESHOLD

    payment = make_payment()
    result = start(payment, {"stripe": stripe_api.client})

    assert len(stripe_api.requests) == circuit.FAILURE_THRESHOLD
    skipped, taken = attempts_of(payment)
    assert (skipped.gateway, skipped.status) == ("stripe", AttemptStatus.SKIPPED)
    assert skipped.error_kind == "circuit_open"
    assert (taken.gateway, taken.status) == ("hitpay", AttemptStatus.CREATED)
    assert result.attempt.pk == taken.pk


def test_after_the_pause_one_trial_call_closes_the_breaker_again(
    stripe_first: GatewayAccount,
    make_payment: Callable[..., Payment],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stripe_api = FakeStripe("timeout")
    for _ in range(circuit.FAILURE_THRESHOLD):
        start(make_payment(), {"stripe": stripe_api.client})
    later = time.time() + circuit.OPEN_SECONDS + 1
    monkeypatch.setattr(circuit, "time", SimpleNamespace(time=lambda: later))
    stripe_api.answer = "created"

    trial = start(make_payment(), {"stripe": stripe_api.client})
    after = start(make_payment(), {"stripe": stripe_api.client})

    assert trial.attempt.gateway == after.attempt.gateway == "stripe"
    assert len(stripe_api.requests) == circuit.FAILURE_THRESHOLD + 2
    assert not circuit.is_open(stripe_first.company_id, "stripe")


def test_refused_credentials_are_recorded_and_flagged_on_the_account(
    stripe_first: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()

    result = start(payment, {"stripe": FakeStripe("unauthorised").client})

    assert result.attempt.gateway == "hitpay"
    refused, _ = attempts_of(payment)
    assert (refused.status, refused.error_kind) == (
        AttemptStatus.ERROR,
        "GatewayCredentialsInvalid",
    )
    assert refused.response["error"]["message"] == "Invalid API Key provided: sk_test_x"
    with tenant_context(payment.company_id):
        account = GatewayAccount.objects.get(gateway="stripe")
    assert account.credentials_rejected_at is not None

    services.gateway_account_save(
        company=payment.company,
        gateway="stripe",
        credentials={"secret_key": "sk_test_new"},
        priority=10,
    )
    with tenant_context(payment.company_id):
        account.refresh_from_db()
    assert account.credentials_rejected_at is None


def test_when_every_gateway_fails_the_shopper_is_told_and_every_try_is_kept(
    company: Company, make_payment: Callable[..., Payment]
) -> None:
    services.gateway_account_save(
        company=company, gateway="stripe", credentials=STRIPE_CREDENTIALS, priority=10
    )
    services.gateway_account_save(
        company=company, gateway="hitpay", credentials=HITPAY_CREDENTIALS, priority=20
    )
    payment = make_payment()

    with pytest.raises(services.GatewaysUnavailable) as refused:
        start(payment, {"stripe": FakeStripe("timeout").client, "hitpay": hitpay_down()})

    assert refused.value.status == 503
    assert refused.value.code == "gateways_unavailable"
    assert [d["gateway"] for d in refused.value.details] == ["stripe", "hitpay"]
    tries = attempts_of(payment)
    assert [(a.gateway, a.status, a.error_kind) for a in tries] == [
        ("stripe", AttemptStatus.ERROR, "GatewayUnavailable"),
        ("hitpay", AttemptStatus.ERROR, "GatewayUnavailable"),
    ]
    assert tries[1].response == {"message": "Service Unavailable"}
    with tenant_context(company):
        payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


@pytest.mark.parametrize(
    ("setup", "method"),
    [("sandbox", "grabpay"), ("none", "paynow"), ("inactive", "paynow")],
    ids=["no-gateway-offers-the-method", "no-gateway-at-all", "gateway-turned-off"],
)
def test_a_method_no_gateway_offers_is_refused_before_any_try(
    company: Company, make_payment: Callable[..., Payment], setup: str, method: str
) -> None:
    if setup == "sandbox":
        services.sandbox_enable(company=company)
    elif setup == "inactive":
        services.gateway_account_save(
            company=company, gateway="stripe", credentials=STRIPE_CREDENTIALS, is_active=False
        )
    payment = make_payment()

    with pytest.raises(services.GatewaysUnavailable) as refused:
        start(payment, {}, method=method)

    assert refused.value.code == "no_gateway"
    assert attempts_of(payment) == []


def test_an_unknown_method_is_bad_input(
    sandbox: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()

    with pytest.raises(services.InvalidPayment) as refused:
        start(payment, {}, method="bitcoin")

    assert refused.value.status == 400
    assert refused.value.details[0]["field"] == "method"
    assert attempts_of(payment) == []


def test_payments_start_with_the_breakers_redis_down(
    stripe_first: GatewayAccount, make_payment: Callable[..., Payment], settings: Any
) -> None:
    settings.CACHES = UNREACHABLE_REDIS
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.get("anything")
    stripe_api = FakeStripe("timeout")

    results = [
        start(make_payment(), {"stripe": stripe_api.client})
        for _ in range(circuit.FAILURE_THRESHOLD + 1)
    ]

    assert {result.attempt.gateway for result in results} == {"hitpay"}
    # The breaker cannot remember failures without its cache: Stripe is tried every time,
    # slower for the shopper, never wrong.
    assert len(stripe_api.requests) == circuit.FAILURE_THRESHOLD + 1
    for result in results:
        assert [a.status for a in attempts_of(result.payment)] == [
            AttemptStatus.ERROR,
            AttemptStatus.CREATED,
        ]


def test_a_live_shop_never_falls_back_to_the_sandbox(
    company: Company, make_payment: Callable[..., Payment]
) -> None:
    services.sandbox_enable(company=company)
    services.gateway_account_save(
        company=company,
        gateway="hitpay",
        credentials=HITPAY_CREDENTIALS,
        priority=10,
        live=True,
    )
    payment = make_payment()

    with pytest.raises(services.GatewaysUnavailable):
        start(payment, {"hitpay": hitpay_down()})

    assert [a.gateway for a in attempts_of(payment)] == ["hitpay"]


def test_the_sandbox_has_no_live_mode(company: Company) -> None:
    with pytest.raises(services.InvalidPayment) as refused:
        services.gateway_account_save(
            company=company,
            gateway="sandbox",
            credentials={"signing_secret": "s" * 32},
            live=True,
        )
    assert refused.value.details[0]["field"] == "live"
