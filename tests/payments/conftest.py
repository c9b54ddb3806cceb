from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from django.test import Client

from pasar.payments import services
from pasar.payments.models import GatewayAccount, Payment
from pasar.tenancy.models import Company


def django_transport(client: Client | None = None) -> httpx.MockTransport:
    """Delivers httpx requests to this Django app, as the network would to the server."""
    django_client = client or Client()

    def handle(request: httpx.Request) -> httpx.Response:
        headers = {
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in request.headers.items()
            if name.lower() not in ("content-type", "content-length", "host")
        }
        answer = django_client.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.content,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            **headers,
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
        extra = {"clock": clock} if clock else {}
        return services.payment_create(
            company=company,
            reference=str(kw.pop("reference", f"SO-{next(counter):06d}")),
            amount=Decimal(amount),
            **kw,  # type: ignore[arg-type]
            **extra,
        )

    return make
