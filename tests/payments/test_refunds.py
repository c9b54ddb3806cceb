"""Refunds go back through the gateway that captured, in full or in parts, and never add up to
more than was captured: not with bad input, not with a gateway error, not with ten at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from pasar.core.errors import Conflict
from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import (
    GatewayAccount,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    SandboxCharge,
    WebhookOutcome,
)
from pasar.tenancy.models import Company
from tests.concurrency import at_once
from tests.payments.conftest import STRIPE_CREDENTIALS, stripe_attempt, stripe_webhook

pytestmark = pytest.mark.django_db

REFUNDERS = 10


def refund(payment: Payment, amount: Any, **kw: Any) -> Refund:
    return services.refund_create(payment=payment, amount=amount, actor=None, **kw)


def reloaded(payment: Payment) -> Payment:
    with tenant_context(payment.company_id):
        payment.refresh_from_db()
    return payment


def refunded_events(company: Company) -> list[dict[str, Any]]:
    with tenant_context(company):
        return list(
            OutboxEvent.objects.filter(company=company, topic="payment.refunded")
            .order_by("id")
            .values_list("payload", flat=True)
        )


def state(payment: Payment) -> dict[str, Any]:
    with tenant_context(payment.company_id):
        return {
            "payment": Payment.objects.filter(pk=payment.pk).values().get(),
            "refunds": list(Refund.objects.values_list("amount", "status")),
            "charge": list(SandboxCharge.objects.values_list("refunded_amount", flat=True)),
            "events": OutboxEvent.objects.filter(company_id=payment.company_id).count(),
        }


@pytest.fixture
def paid(make_payment: Callable[..., Payment], pay: Callable[[Payment], Payment]) -> Payment:
    """100.00 captured through the sandbox."""
    payment = pay(make_payment("100.00"))
    assert payment.status == PaymentStatus.CAPTURED
    return payment


def test_a_full_refund_goes_back_through_the_sandbox(company: Company, paid: Payment) -> None:
    given = refund(paid, "100.00", reason="Customer changed their mind")

    assert (given.status, given.amount) == (RefundStatus.SUCCEEDED, Decimal("100.00"))
    assert given.provider_refund_id.startswith("sbx_re_")
    payment = reloaded(paid)
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded_amount == Decimal("100.00")
    with tenant_context(company):
        assert SandboxCharge.objects.get().refunded_amount == Decimal("100.00")
    [event] = refunded_events(company)
    assert (event["refund_amount"], event["status"]) == ("100.00", "refunded")


def test_partial_refunds_add_up_to_a_full_one(company: Company, paid: Payment) -> None:
    refund(paid, "30.00")
    assert reloaded(paid).status == PaymentStatus.PARTIALLY_REFUNDED
    assert paid.refunded_amount == Decimal("30.00")

    refund(paid, "45.50")
    assert reloaded(paid).status == PaymentStatus.PARTIALLY_REFUNDED
    assert paid.refundable == Decimal("24.50")

    refund(paid, "24.50")
    assert reloaded(paid).status == PaymentStatus.REFUNDED
    assert paid.refunded_amount == paid.captured_amount == Decimal("100.00")
    events = refunded_events(company)
    assert [(e["refund_amount"], e["status"]) for e in events] == [
        ("30.00", "partially_refunded"),
        ("45.50", "partially_refunded"),
        ("24.50", "refunded"),
    ]


def test_a_refund_over_the_balance_is_refused_and_changes_nothing(paid: Payment) -> None:
    refund(paid, "60.00")
    before = state(paid)

    with pytest.raises(Conflict) as refused:
        refund(paid, "40.01")

    assert refused.value.code == "refund_exceeds_balance"
    assert refused.value.status == 409
    assert refused.value.details[0]["refundable"] == "40.00"
    assert state(paid) == before


@pytest.mark.parametrize(
    "amount",
    ["0", "0.00", "0.001", "10.005", "-5", "-0.01", "abc", "", "NaN", "Infinity", 1.5, True],
)
def test_an_amount_that_is_not_money_is_bad_input(paid: Payment, amount: Any) -> None:
    before = state(paid)

    with pytest.raises(services.InvalidPayment) as refused:
        refund(paid, amount)

    assert refused.value.status == 400
    assert refused.value.details[0]["field"] == "amount"
    assert state(paid) == before


def test_nothing_captured_means_nothing_to_refund(make_payment: Callable[..., Payment]) -> None:
    payment = make_payment("10.00")

    with pytest.raises(Conflict) as refused:
        refund(payment, "1.00")

    assert refused.value.code == "refund_not_allowed"
    with tenant_context(payment.company_id):
        assert Refund.objects.count() == 0


def test_the_same_idempotency_key_gives_the_same_refund_once(paid: Payment) -> None:
    first = refund(paid, "10.00", idempotency_key="rf-2026-0001")

    again = refund(paid, "10.00", idempotency_key="rf-2026-0001")

    assert again.pk == first.pk
    assert reloaded(paid).refunded_amount == Decimal("10.00")
    with tenant_context(paid.company_id):
        assert Refund.objects.count() == 1
    assert len(refunded_events(paid.company)) == 1


def test_an_idempotency_key_cannot_be_reused_for_another_amount(paid: Payment) -> None:
    refund(paid, "10.00", idempotency_key="rf-2026-0001")
    before = state(paid)

    with pytest.raises(Conflict) as refused:
        refund(paid, "11.00", idempotency_key="rf-2026-0001")

    assert refused.value.code == "idempotency_key_reused"
    assert state(paid) == before


def test_an_idempotency_key_cannot_be_reused_for_another_payment(
    paid: Payment, make_payment: Callable[..., Payment], pay: Callable[[Payment], Payment]
) -> None:
    refund(paid, "10.00", idempotency_key="rf-2026-0001")
    other = pay(make_payment("10.00"))

    with pytest.raises(Conflict) as refused:
        refund(other, "10.00", idempotency_key="rf-2026-0001")

    assert refused.value.code == "idempotency_key_reused"
    assert reloaded(other).refunded_amount == 0


def test_an_overlong_idempotency_key_is_bad_input(paid: Payment) -> None:
    with pytest.raises(services.InvalidPayment) as refused:
        refund(paid, "1.00", idempotency_key="k" * 65)

    assert refused.value.details[0]["field"] == "idempotency_key"


def test_a_gateway_that_refuses_the_refund_leaves_nothing_changed(paid: Payment) -> None:
    with tenant_context(paid.company_id):
        # The provider has lost the charge: it will refuse to refund it.
        SandboxCharge.objects.all().delete()
    before = state(paid)

    with pytest.raises(services.RefundFailed) as failed:
        refund(paid, "25.00", idempotency_key="rf-lost")

    assert failed.value.status == 502
    assert state(paid) == before
    assert reloaded(paid).refunded_amount == 0


# --- Stripe: refunds through the gateway that captured, answered later by webhook -----------


@pytest.fixture
def paid_at_stripe(company: Company, make_payment: Callable[..., Payment]) -> Payment:
    """80.00 captured by Stripe, told by its signed payment_intent.succeeded webhook."""
    services.gateway_account_save(
        company=company, gateway="stripe", credentials=STRIPE_CREDENTIALS, priority=10
    )
    payment = make_payment("80.00")
    stripe_attempt(payment, "pi_3RefundTest")
    body, headers = stripe_webhook(
        "payment_intent.succeeded",
        {"id": "pi_3RefundTest", "amount_received": 8000, "currency": "sgd"},
    )
    received = services.webhook_receive(
        company_public_id=str(company.public_id), gateway="stripe", body=body, headers=headers
    )
    assert received.outcome == WebhookOutcome.PROCESSED
    return reloaded(payment)


def stripe_answering(status: int, body: dict[str, Any]) -> tuple[httpx.Client, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(handle)), sent


def test_a_stripe_error_rolls_the_refund_back_and_a_retry_can_succeed(
    paid_at_stripe: Payment,
) -> None:
    down, _ = stripe_answering(500, {"error": {"type": "api_error", "message": "Try later"}})
    before = state(paid_at_stripe)

    with pytest.raises(services.RefundFailed) as failed:
        refund(paid_at_stripe, "20.00", idempotency_key="rf-stripe-1", http={"stripe": down})

    assert failed.value.code == "gateway_unavailable"
    assert state(paid_at_stripe) == before

    up, sent = stripe_answering(200, {"id": "re_1", "object": "refund", "status": "succeeded"})
    given = refund(paid_at_stripe, "20.00", idempotency_key="rf-stripe-1", http={"stripe": up})

    assert given.status == RefundStatus.SUCCEEDED
    assert sent[0].headers["Idempotency-Key"] == "rf-stripe-1"
    assert b"payment_intent=pi_3RefundTest" in sent[0].content
    assert reloaded(paid_at_stripe).status == PaymentStatus.PARTIALLY_REFUNDED


def test_a_refund_stripe_settles_later_is_settled_by_its_webhook(
    company: Company, paid_at_stripe: Payment
) -> None:
    pending, _ = stripe_answering(200, {"id": "re_2", "object": "refund", "status": "pending"})
    given = refund(paid_at_stripe, "80.00", http={"stripe": pending})
    assert given.status == RefundStatus.PENDING
    # Held against the balance while Stripe works on it, so it cannot be refunded twice.
    assert reloaded(paid_at_stripe).refundable == 0
    assert paid_at_stripe.status == PaymentStatus.CAPTURED

    body, headers = stripe_webhook(
        "refund.updated",
        {
            "id": "re_2",
            "object": "refund",
            "status": "succeeded",
            "amount": 8000,
            "currency": "sgd",
            "payment_intent": "pi_3RefundTest",
        },
    )
    services.webhook_receive(
        company_public_id=str(company.public_id), gateway="stripe", body=body, headers=headers
    )

    with tenant_context(company):
        given.refresh_from_db()
    assert given.status == RefundStatus.SUCCEEDED
    assert reloaded(paid_at_stripe).status == PaymentStatus.REFUNDED
    assert len(refunded_events(company)) == 1


def test_stripes_charge_refunded_for_a_refund_made_here_changes_nothing(
    company: Company, paid_at_stripe: Payment
) -> None:
    done, _ = stripe_answering(200, {"id": "re_3", "object": "refund", "status": "succeeded"})
    refund(paid_at_stripe, "20.00", http={"stripe": done})
    body, headers = stripe_webhook(
        "charge.refunded",
        {
            "id": "ch_3RefundTest",
            "object": "charge",
            "amount": 8000,
            "amount_refunded": 2000,
            "currency": "sgd",
            "payment_intent": "pi_3RefundTest",
            "refunded": False,
        },
    )

    services.webhook_receive(
        company_public_id=str(company.public_id), gateway="stripe", body=body, headers=headers
    )

    assert reloaded(paid_at_stripe).refunded_amount == Decimal("20.00")
    with tenant_context(company):
        assert Refund.objects.count() == 1


def test_a_refund_made_in_stripes_dashboard_is_recorded_once(
    company: Company, paid_at_stripe: Payment
) -> None:
    refund_object = {
        "id": "re_dashboard",
        "object": "refund",
        "status": "succeeded",
        "amount": 1500,
        "currency": "sgd",
        "payment_intent": "pi_3RefundTest",
    }
    for event_type in ("refund.created", "refund.updated"):
        body, headers = stripe_webhook(event_type, refund_object)
        services.webhook_receive(
            company_public_id=str(company.public_id), gateway="stripe", body=body, headers=headers
        )

    payment = reloaded(paid_at_stripe)
    assert payment.refunded_amount == Decimal("15.00")
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    with tenant_context(company):
        recorded = Refund.objects.get()
    assert (recorded.provider_refund_id, recorded.status) == (
        "re_dashboard",
        RefundStatus.SUCCEEDED,
    )
    assert len(refunded_events(company)) == 1


# --- Ten refunds at once ---------------------------------------------------------------------


def refund_at_once(payment: Payment, amount: str, times: int, **kw: Any) -> list[Any]:
    return at_once(times, lambda _: refund(payment, amount, **kw))


@pytest.mark.django_db(transaction=True)
def test_ten_refunds_at_once_never_exceed_what_was_captured(
    company: Company, paid: Payment
) -> None:
    outcomes = refund_at_once(paid, "30.00", REFUNDERS)

    kinds = Counter(
        outcome.code if isinstance(outcome, Conflict) else type(outcome).__name__
        for outcome in outcomes
    )
    assert kinds == {"Refund": 3, "refund_exceeds_balance": REFUNDERS - 3}, outcomes
    payment = reloaded(paid)
    assert payment.refunded_amount == Decimal("90.00")
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    with tenant_context(company):
        assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 3
        assert SandboxCharge.objects.get().refunded_amount == Decimal("90.00")
        # The database itself refuses refunds beyond the capture: the second wall.
        with pytest.raises(IntegrityError), transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(
                refunded_amount=F("captured_amount") + Decimal("0.01")
            )
    assert len(refunded_events(company)) == 3
    assert reloaded(paid).refunded_amount == Decimal("90.00")


@pytest.mark.django_db(transaction=True)
def test_a_refund_is_never_left_half_written_when_the_gateway_fails(
    company: Company, sandbox: GatewayAccount, paid: Payment
) -> None:
    with tenant_context(company):
        SandboxCharge.objects.update(status="failed")

    with pytest.raises(services.RefundFailed):
        refund(paid, "10.00")

    with tenant_context(company):
        assert Refund.objects.count() == 0
    assert reloaded(paid).refunded_amount == 0


@pytest.mark.django_db(transaction=True)
def test_one_idempotency_key_sent_five_times_at_once_refunds_once(
    company: Company, paid: Payment
) -> None:
    outcomes = refund_at_once(paid, "12.00", 5, idempotency_key="rf-retried")

    assert all(isinstance(outcome, Refund) for outcome in outcomes), outcomes
    assert len({outcome.pk for outcome in outcomes}) == 1
    assert reloaded(paid).refunded_amount == Decimal("12.00")
    with tenant_context(company):
        assert SandboxCharge.objects.get().refunded_amount == Decimal("12.00")


def sandbox_refund_webhook(company: Company, payment: Payment, refund_id: str, amount: str):
    """A signed "refund.succeeded" for a refund made at the sandbox provider's own side."""
    import json
    import uuid

    from django.utils import timezone

    from pasar.payments.credentials import unseal
    from pasar.payments.gateways import sandbox as sandbox_gateway

    with tenant_context(company):
        account = GatewayAccount.objects.get(gateway="sandbox")
        charge = payment.attempts.get().provider_reference
    now = int(timezone.now().timestamp())
    body = json.dumps(
        {
            "id": "sbx_evt_" + uuid.uuid4().hex,
            "type": "refund.succeeded",
            "created": now,
            "data": {
                "charge": charge,
                "payment_id": str(payment.public_id),
                "refund": refund_id,
                "amount": amount,
                "currency": "SGD",
            },
        }
    ).encode()
    secret = unseal(account.credentials_encrypted)["signing_secret"]
    return body, {sandbox_gateway.SIGNATURE_HEADER: sandbox_gateway.sign(body, secret, now)}


def test_provider_refunds_with_long_ids_sharing_a_prefix_are_each_recorded(
    company: Company, paid: Payment
) -> None:
    # Two refunds whose ids differ only after the 64th character.
    shared = "re_" + "dashboard" * 8
    results = []
    for refund_id in (shared + "_one", shared + "_two"):
        body, headers = sandbox_refund_webhook(company, paid, refund_id, "5.00")
        results.append(
            services.webhook_receive(
                company_public_id=str(company.public_id),
                gateway="sandbox",
                body=body,
                headers=headers,
            )
        )

    assert [r.status_code for r in results] == [200, 200]
    assert reloaded(paid).refunded_amount == Decimal("10.00")
    with tenant_context(company):
        keys = list(Refund.objects.values_list("idempotency_key", flat=True))
    assert len(set(keys)) == 2
    assert all(len(key) <= 64 for key in keys)
