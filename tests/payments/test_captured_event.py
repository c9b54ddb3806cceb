"""`payment.captured` is one contract: published exactly once per capture the shop keeps, in
one shape that names the capture (public id, amount, currency, gateway) and its payment
(public id, reference, company)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import Capture, GatewayAccount, Payment
from pasar.tenancy.models import Company
from tests.payments.conftest import start_at_sandbox

pytestmark = pytest.mark.django_db

SHAPE = {
    "capture",
    "payment",
    "reference",
    "company",
    "amount",
    "currency",
    "gateway",
    "captured_at",
}


def captured_events(company: Company) -> list[dict[str, Any]]:
    with tenant_context(company):
        return list(
            OutboxEvent.objects.filter(company=company, topic="payment.captured")
            .order_by("id")
            .values_list("payload", flat=True)
        )


def captures(company: Company) -> list[Capture]:
    with tenant_context(company):
        return list(Capture.objects.order_by("id"))


def test_payment_captured_names_the_capture_in_one_shape(
    company: Company, make_payment: Callable[..., Payment], pay: Callable[[Payment], Payment]
) -> None:
    payment = pay(make_payment("42.50"))

    [event] = captured_events(company)
    [capture] = captures(company)
    assert set(event) == SHAPE
    captured_at = event.pop("captured_at")
    # JSON keeps milliseconds.
    assert abs(datetime.fromisoformat(captured_at) - capture.created_at) < timedelta(milliseconds=1)
    assert event == {
        "capture": str(capture.public_id),
        "payment": str(payment.public_id),
        "reference": payment.reference,
        "company": str(company.public_id),
        "amount": "42.50",
        "currency": "SGD",
        "gateway": "sandbox",
    }


def test_accepting_a_payment_paid_twice_announces_only_the_second_capture_once(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    to_app: dict[str, httpx.Client],
) -> None:
    payment = make_payment("18.00")
    for attempt in (start_at_sandbox(payment), start_at_sandbox(payment)):
        services.sandbox_charge_settle(
            company=company,
            provider_reference=attempt.provider_reference,
            outcome="paid",
            http=to_app,
        )

    services.payment_review_accept(payment=payment, actor=None)

    events = captured_events(company)
    first, second = captures(company)
    assert [set(e) for e in events] == [SHAPE, SHAPE]
    assert [e["capture"] for e in events] == [str(first.public_id), str(second.public_id)]
    assert [Decimal(e["amount"]) for e in events] == [Decimal("18.00"), Decimal("18.00")]
