"""Anyone may post to /webhooks/<provider>/<company>/: a forged or unsigned call stores no body
(only why it was refused, a summary of its headers and its size), a gateway the shop never set
up writes nothing at all, and each client address is rate-limited (429 with Retry-After) with
the cache, failing open when the cache is down."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from pasar.core.tenant import tenant_context
from pasar.payments.models import GatewayAccount, Payment, WebhookLog, WebhookOutcome
from pasar.tenancy.models import Company
from tests.payments.conftest import sandbox_webhook, start_at_sandbox

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture(autouse=True)
def cache_of_its_own(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"webhooks-{uuid.uuid4().hex}",
        }
    }


def post(company: Company, gateway: str, body: bytes, headers: dict[str, str], addr: str) -> Any:
    sent = {name: value for name, value in headers.items() if name.lower() != "content-type"}
    return Client(REMOTE_ADDR=addr).post(
        f"/webhooks/{gateway}/{company.public_id}/",
        data=body,
        content_type="application/json",
        headers=sent,
    )


def logs(company: Company) -> list[WebhookLog]:
    with tenant_context(company):
        return list(WebhookLog.objects.order_by("id"))


def test_a_refused_webhook_keeps_no_body_only_the_reason_headers_and_size(
    company: Company, sandbox: GatewayAccount
) -> None:
    body = b'{"id": "evt_forged", "junk": "' + b"x" * 60_000 + b'"}'

    answer = post(company, "sandbox", body, {"Sandbox-Signature": "t=1,v1=forged"}, "203.0.113.9")

    assert answer.status_code == 400
    [log] = logs(company)
    assert log.outcome == WebhookOutcome.REJECTED
    assert log.body == ""
    assert log.body_bytes == len(body)
    assert "InvalidSignature" in log.detail
    assert log.headers.get("Sandbox-Signature") == "t=1,v1=forged"


def test_a_verified_webhook_keeps_its_body(
    company: Company, sandbox: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    attempt = start_at_sandbox(payment)
    body, headers = sandbox_webhook(
        company, charge=attempt.provider_reference, payment=payment, amount=str(payment.amount)
    )

    assert post(company, "sandbox", body, headers, "203.0.113.9").status_code == 200

    [log] = logs(company)
    assert log.body == body.decode()
    assert log.body_bytes == len(body)


@pytest.mark.parametrize("gateway", ["stripe", "hitpay", "nonsense"])
def test_a_gateway_the_shop_never_set_up_writes_nothing(
    company: Company, sandbox: GatewayAccount, gateway: str
) -> None:
    answer = post(company, gateway, b'{"id": "x"}' * 1000, {}, "203.0.113.9")

    assert answer.status_code in (400, 404)
    assert logs(company) == []


def test_an_unknown_company_writes_nothing(company: Company, sandbox: GatewayAccount) -> None:
    answer = Client().post(
        f"/webhooks/sandbox/{uuid.uuid4()}/", data=b"{}", content_type="application/json"
    )
    assert answer.status_code == 404
    assert logs(company) == []


def test_one_client_address_is_rate_limited_with_retry_after(
    company: Company, sandbox: GatewayAccount, settings: Any
) -> None:
    settings.PAYMENT_WEBHOOK_RATE_LIMIT = 3
    settings.PAYMENT_WEBHOOK_RATE_WINDOW = 60
    forged = {"Sandbox-Signature": "t=1,v1=forged"}

    answers = [post(company, "sandbox", b"{}", forged, "203.0.113.9") for _ in range(5)]
    other = post(company, "sandbox", b"{}", forged, "198.51.100.7")

    assert [a.status_code for a in answers] == [400, 400, 400, 429, 429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    assert answers[-1].json()["error"]
    assert other.status_code == 400
    # What was turned away at the door was not written down either.
    assert len(logs(company)) == 4


def test_a_cache_outage_never_blocks_a_webhook(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    settings: Any,
) -> None:
    payment = make_payment()
    attempt = start_at_sandbox(payment)
    settings.CACHES = UNREACHABLE_REDIS
    settings.PAYMENT_WEBHOOK_RATE_LIMIT = 1
    body, headers = sandbox_webhook(
        company, charge=attempt.provider_reference, payment=payment, amount=str(payment.amount)
    )

    answers = [post(company, "sandbox", body, headers, "203.0.113.9") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
