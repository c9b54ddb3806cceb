"""Inbound webhooks through `/webhooks/<gateway>/<company>/`: a forged, stale or unreadable one
changes nothing; one provider event counts once however often and however concurrently it
arrives; late or odd money is kept and flagged for staff, never lost."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe
from django.test import Client
from django.utils import timezone

from pasar.core.errors import Conflict
from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.credentials import unseal
from pasar.payments.gateways import sandbox as sandbox_gateway
from pasar.payments.models import (
    Capture,
    GatewayAccount,
    Payment,
    PaymentStatus,
    ProcessedWebhookEvent,
    Refund,
    RefundStatus,
    ReviewReason,
    SandboxCharge,
    WebhookLog,
    WebhookOutcome,
)
from pasar.tenancy.models import Company
from tests.concurrency import at_once
from tests.payments.conftest import (
    STRIPE_CREDENTIALS,
    sandbox_webhook,
    start_at_sandbox,
    stripe_attempt,
    stripe_webhook,
)

pytestmark = pytest.mark.django_db

DELIVERIES = 20
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def post(
    client: Client,
    company: Company,
    body: bytes,
    headers: dict[str, str],
    gateway: str = "sandbox",
) -> Any:
    sent = {name: value for name, value in headers.items() if name.lower() != "content-type"}
    return client.post(
        f"/webhooks/{gateway}/{company.public_id}/",
        data=body,
        content_type="application/json",
        headers=sent,
    )


def topics(company: Company) -> list[str]:
    with tenant_context(company):
        return list(
            OutboxEvent.objects.filter(company=company)
            .order_by("id")
            .values_list("topic", flat=True)
        )


def state(company: Company, payment: Payment) -> dict[str, Any]:
    """Everything a webhook could change, to compare before and after."""
    with tenant_context(company):
        return {
            "payment": Payment.objects.filter(pk=payment.pk).values().get(),
            "captures": list(Capture.objects.values_list("provider_reference", "amount")),
            "processed": ProcessedWebhookEvent.objects.count(),
            "events": topics(company),
        }


def logs(company: Company) -> list[WebhookLog]:
    with tenant_context(company):
        return list(WebhookLog.objects.order_by("id"))


def sandbox_secret(company: Company) -> str:
    with tenant_context(company):
        account = GatewayAccount.objects.get(gateway="sandbox")
    return unseal(account.credentials_encrypted)["signing_secret"]


def reloaded(payment: Payment) -> Payment:
    with tenant_context(payment.company_id):
        payment.refresh_from_db()
    return payment


@pytest.fixture
def started(company: Company, sandbox: GatewayAccount, make_payment: Callable[..., Payment]):
    """A 25.90 payment whose sandbox charge waits for the shopper."""
    payment = make_payment("25.90")
    return payment, start_at_sandbox(payment)


def capture_webhook(company: Company, payment: Payment, charge: str, **kw: Any):
    kw.setdefault("amount", str(payment.amount))
    return sandbox_webhook(company, charge=charge, payment=payment, **kw)


# --- Refused: nothing changes but the log ----------------------------------------------------


def _bad_signature(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    signed = headers[sandbox_gateway.SIGNATURE_HEADER]
    return body, {**headers, sandbox_gateway.SIGNATURE_HEADER: signed[:-8] + "00000000"}


def _tampered_body(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body.replace(b'"25.90"', b'"2590.00"'), headers


def _missing_header(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {"Content-Type": "application/json"}


def _unreadable_header(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {**headers, sandbox_gateway.SIGNATURE_HEADER: "v1=abc,t=yesterday"}


def _wrong_secret(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    at = int(timezone.now().timestamp())
    forged = sandbox_gateway.sign(body, "sbx_whsec_guessed", at)
    return body, {**headers, sandbox_gateway.SIGNATURE_HEADER: forged}


@pytest.mark.parametrize(
    "spoil",
    [_bad_signature, _tampered_body, _missing_header, _unreadable_header, _wrong_secret],
    ids=["bad-signature", "tampered-body", "missing-header", "unreadable-header", "wrong-secret"],
)
def test_a_webhook_that_does_not_verify_is_refused_and_changes_nothing(
    client: Client, company: Company, started: Any, spoil: Callable[..., Any]
) -> None:
    payment, attempt = started
    body, headers = spoil(*capture_webhook(company, payment, attempt.provider_reference))
    before = state(company, payment)

    answer = post(client, company, body, headers)

    assert answer.status_code == 400
    assert answer.json()["received"] is False
    assert state(company, payment) == before
    [log] = logs(company)
    assert log.outcome == WebhookOutcome.REJECTED
    assert log.detail.startswith("InvalidSignature")
    # Anyone can post unsigned junk here: a refused call keeps its size, never its body.
    assert (log.body, log.body_bytes) == ("", len(body))


# In the future by a clear margin: a slow test run must not bring +301 back inside the 300 s.
@pytest.mark.parametrize("seconds", [-301, 330, -86_400])
def test_a_replay_outside_the_tolerance_is_refused(
    client: Client, company: Company, started: Any, seconds: int
) -> None:
    payment, attempt = started
    at = int(timezone.now().timestamp()) + seconds
    body, headers = capture_webhook(company, payment, attempt.provider_reference, at=at)
    before = state(company, payment)

    answer = post(client, company, body, headers)

    assert answer.status_code == 400
    assert state(company, payment) == before
    [log] = logs(company)
    assert log.outcome == WebhookOutcome.REJECTED
    assert log.detail.startswith("StaleWebhook")


def test_a_webhook_just_inside_the_tolerance_is_taken(
    client: Client, company: Company, started: Any
) -> None:
    payment, attempt = started
    at = int(timezone.now().timestamp()) - 290
    body, headers = capture_webhook(company, payment, attempt.provider_reference, at=at)

    assert post(client, company, body, headers).status_code == 200
    assert reloaded(payment).status == PaymentStatus.CAPTURED


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[]",
        b"{}",
        b'{"id": "evt_1", "type": "charge.succeeded", "data": {"charge": "x"}}',
        b'{"id": "evt_1", "type": "charge.succeeded", "created": "soon", "data": {}}',
        b'{"id": "evt_1", "type": "charge.succeeded", "created": 1, "data": {"amount": "lots"}}',
    ],
    ids=["not-json", "empty", "list", "empty-object", "no-created", "bad-created", "bad-amount"],
)
def test_a_signed_body_that_cannot_be_read_is_refused_and_changes_nothing(
    client: Client, company: Company, started: Any, body: bytes
) -> None:
    payment, _ = started
    secret = sandbox_secret(company)
    at = int(timezone.now().timestamp())
    headers = {sandbox_gateway.SIGNATURE_HEADER: sandbox_gateway.sign(body, secret, at)}
    before = state(company, payment)

    answer = post(client, company, body, headers)

    assert answer.status_code == 400
    assert state(company, payment) == before
    [log] = logs(company)
    assert log.outcome == WebhookOutcome.REJECTED
    assert log.detail.startswith("MalformedWebhook")


def test_a_signed_event_whose_data_is_not_an_object_is_refused(
    client: Client, company: Company, started: Any
) -> None:
    body = b'{"id": "evt_1", "type": "charge.succeeded", "created": 1, "data": "paid"}'
    at = int(timezone.now().timestamp())
    headers = {
        sandbox_gateway.SIGNATURE_HEADER: sandbox_gateway.sign(body, sandbox_secret(company), at)
    }

    assert post(client, company, body, headers).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"/webhooks/sandbox/{uuid.uuid4()}/",
        "/webhooks/sandbox/not-a-company/",
        "/webhooks/paypal/{company}/",
    ],
    ids=["unknown-company", "not-a-company-id", "unknown-gateway"],
)
def test_an_unknown_endpoint_is_not_found(
    client: Client, company: Company, started: Any, path: str
) -> None:
    payment, attempt = started
    body, headers = capture_webhook(company, payment, attempt.provider_reference)
    before = state(company, payment)

    answer = client.post(
        path.format(company=company.public_id),
        data=body,
        content_type="application/json",
        headers={sandbox_gateway.SIGNATURE_HEADER: headers[sandbox_gateway.SIGNATURE_HEADER]},
    )

    assert answer.status_code == 404
    assert state(company, payment) == before


def test_a_gateway_the_shop_has_not_set_up_is_not_found_and_writes_nothing(
    client: Client, company: Company, started: Any
) -> None:
    payment, _ = started
    body, headers = stripe_webhook("payment_intent.succeeded", {"id": "pi_1", "amount_received": 1})
    before = state(company, payment)

    answer = post(client, company, body, headers, gateway="stripe")

    assert answer.status_code == 404
    assert state(company, payment) == before
    # Anyone may post here: a gateway the shop never set up is not worth a row per call.
    assert logs(company) == []


def test_a_webhook_endpoint_takes_only_post(client: Client, company: Company, sandbox: Any) -> None:
    assert client.get(f"/webhooks/sandbox/{company.public_id}/").status_code == 405


# --- One event, one effect -------------------------------------------------------------------


def deliver_at_once(
    company: Company, body: bytes, headers: dict[str, str], times: int
) -> list[Any]:
    """POST the same webhook from `times` threads released together, each on its own
    database connection, as several provider workers retrying at once would."""
    return at_once(times, lambda _: post(Client(), company, body, headers).status_code)


@pytest.mark.django_db(transaction=True)
def test_the_same_capture_sent_twenty_times_at_once_is_captured_once(
    company: Company, sandbox: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment("42.50")
    attempt = start_at_sandbox(payment)
    body, headers = capture_webhook(company, payment, attempt.provider_reference)

    statuses = deliver_at_once(company, body, headers, DELIVERIES)

    assert statuses == [200] * DELIVERIES
    payment = reloaded(payment)
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.captured_amount == payment.amount == Decimal("42.50")
    with tenant_context(company):
        [capture] = Capture.objects.all()
        outcomes = Counter(WebhookLog.objects.values_list("outcome", flat=True))
        assert ProcessedWebhookEvent.objects.count() == 1
    assert (capture.amount, capture.provider_reference) == (
        Decimal("42.50"),
        attempt.provider_reference,
    )
    assert topics(company).count("payment.captured") == 1
    assert outcomes == {WebhookOutcome.PROCESSED: 1, WebhookOutcome.DUPLICATE: DELIVERIES - 1}


def test_a_redelivered_event_changes_nothing(
    client: Client, company: Company, started: Any
) -> None:
    payment, attempt = started
    body, headers = capture_webhook(company, payment, attempt.provider_reference)
    assert post(client, company, body, headers).json()["outcome"] == WebhookOutcome.PROCESSED
    after_first = state(company, payment)

    again = post(client, company, body, headers)

    assert again.status_code == 200
    assert again.json()["outcome"] == WebhookOutcome.DUPLICATE
    assert state(company, payment) == after_first


def test_one_capture_told_under_two_event_ids_is_captured_once(
    client: Client, company: Company, started: Any
) -> None:
    payment, attempt = started
    first = capture_webhook(company, payment, attempt.provider_reference, event_id="sbx_evt_a")
    second = capture_webhook(company, payment, attempt.provider_reference, event_id="sbx_evt_b")

    assert post(client, company, *first).json()["outcome"] == WebhookOutcome.PROCESSED
    assert post(client, company, *second).json()["outcome"] == WebhookOutcome.DUPLICATE

    payment = reloaded(payment)
    assert payment.captured_amount == Decimal("25.90")
    with tenant_context(company):
        assert Capture.objects.count() == 1
    assert topics(company).count("payment.captured") == 1


def test_a_failure_after_the_capture_leaves_the_payment_captured(
    client: Client, company: Company, started: Any
) -> None:
    payment, attempt = started
    captured = capture_webhook(company, payment, attempt.provider_reference)
    failed = sandbox_webhook(
        company, event_type="charge.failed", charge=attempt.provider_reference, payment=payment
    )
    post(client, company, *captured)

    answer = post(client, company, *failed)

    assert answer.status_code == 200
    assert reloaded(payment).status == PaymentStatus.CAPTURED
    assert logs(company)[-1].outcome == WebhookOutcome.STALE
    assert "payment.failed" not in topics(company)


def test_a_capture_after_a_failure_captures(client: Client, company: Company, started: Any) -> None:
    payment, attempt = started
    failed = sandbox_webhook(
        company, event_type="charge.failed", charge=attempt.provider_reference, payment=payment
    )
    post(client, company, *failed)
    assert reloaded(payment).status == PaymentStatus.FAILED

    post(client, company, *capture_webhook(company, payment, attempt.provider_reference))

    assert reloaded(payment).status == PaymentStatus.CAPTURED
    assert topics(company)[-2:] == ["payment.failed", "payment.captured"]


def test_an_event_for_no_payment_is_acknowledged_and_kept(
    client: Client, company: Company, started: Any
) -> None:
    payment, _ = started
    body, headers = sandbox_webhook(company, charge="sbx_unknown", amount="25.90")
    before = state(company, payment)

    answer = post(client, company, body, headers)

    assert answer.status_code == 200
    assert state(company, payment)["captures"] == before["captures"]
    assert state(company, payment)["payment"] == before["payment"]
    assert logs(company)[-1].outcome == WebhookOutcome.UNMATCHED


def test_a_capture_in_another_currency_is_not_applied(
    client: Client, company: Company, started: Any
) -> None:
    payment, attempt = started
    body, headers = capture_webhook(company, payment, attempt.provider_reference, currency="USD")
    before = state(company, payment)

    assert post(client, company, body, headers).status_code == 200

    after = state(company, payment)
    assert (after["payment"], after["captures"], after["events"]) == (
        before["payment"],
        before["captures"],
        before["events"],
    )
    assert logs(company)[-1].outcome == WebhookOutcome.UNMATCHED


# --- Money that arrives when it should not: kept, flagged, decided by staff ------------------


@pytest.fixture
def captured_after_expiry(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    to_app: dict[str, httpx.Client],
) -> Payment:
    """A 30.00 payment that expired unpaid, then the shopper paid the QR anyway."""
    two_hours_ago = timezone.now() - timedelta(hours=2)
    payment = make_payment("30.00", clock=lambda: two_hours_ago)
    attempt = start_at_sandbox(payment, clock=lambda: two_hours_ago)
    assert services.payments_expire_overdue() == 1
    assert reloaded(payment).status == PaymentStatus.EXPIRED

    status = services.sandbox_charge_settle(
        company=company, provider_reference=attempt.provider_reference, outcome="paid", http=to_app
    )
    assert status == 200
    return reloaded(payment)


def test_a_capture_after_expiry_is_kept_and_flagged(
    company: Company, captured_after_expiry: Payment
) -> None:
    payment = captured_after_expiry

    assert payment.status == PaymentStatus.EXPIRED
    assert payment.review_reason == ReviewReason.CAPTURED_AFTER_EXPIRY
    assert payment.captured_amount == Decimal("30.00")
    with tenant_context(company):
        assert Capture.objects.filter(payment=payment).count() == 1
    assert topics(company).count("payment.review_needed") == 1
    assert "payment.captured" not in topics(company)


def test_accepting_a_late_capture_makes_the_payment_captured_once(
    company: Company, captured_after_expiry: Payment
) -> None:
    accepted = services.payment_review_accept(payment=captured_after_expiry, actor=None)

    assert accepted.status == PaymentStatus.CAPTURED
    assert accepted.review_reason == ReviewReason.NONE
    assert reloaded(accepted).status == PaymentStatus.CAPTURED
    assert topics(company).count("payment.captured") == 1
    with pytest.raises(Conflict) as again:
        services.payment_review_accept(payment=accepted, actor=None)
    assert again.value.code == "nothing_to_review"
    assert topics(company).count("payment.captured") == 1


def test_refunding_a_late_capture_gives_it_back_through_the_sandbox(
    company: Company, captured_after_expiry: Payment
) -> None:
    refund = services.payment_review_refund(payment=captured_after_expiry, actor=None)

    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, Decimal("30.00"))
    assert refund.provider_refund_id.startswith("sbx_re_")
    payment = reloaded(captured_after_expiry)
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded_amount == payment.captured_amount == Decimal("30.00")
    assert payment.review_reason == ReviewReason.NONE
    with tenant_context(company):
        assert SandboxCharge.objects.get().refunded_amount == Decimal("30.00")
        assert Refund.objects.count() == 1
    assert topics(company).count("payment.refunded") == 1
    assert "payment.captured" not in topics(company)


def test_a_capture_after_cancellation_is_kept_and_flagged(
    client: Client, company: Company, started: Any
) -> None:
    payment, attempt = started
    services.payment_cancel(payment=payment, actor=None)

    post(client, company, *capture_webhook(company, payment, attempt.provider_reference))

    payment = reloaded(payment)
    assert payment.status == PaymentStatus.CANCELLED
    assert payment.review_reason == ReviewReason.CAPTURED_AFTER_CANCEL
    assert payment.captured_amount == Decimal("25.90")


def test_a_different_amount_is_kept_for_review(
    client: Client, company: Company, started: Any
) -> None:
    payment, attempt = started

    post(
        client,
        company,
        *capture_webhook(company, payment, attempt.provider_reference, amount="20.00"),
    )

    payment = reloaded(payment)
    assert payment.review_reason == ReviewReason.AMOUNT_MISMATCH
    assert payment.status == PaymentStatus.PENDING
    assert payment.captured_amount == Decimal("20.00")
    assert topics(company).count("payment.review_needed") == 1
    assert "payment.captured" not in topics(company)


def test_paying_twice_is_kept_for_review(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    to_app: dict[str, httpx.Client],
) -> None:
    payment = make_payment("18.00")
    # The shopper opened the checkout twice and paid both QR codes.
    first, second = start_at_sandbox(payment), start_at_sandbox(payment)
    for attempt in (first, second):
        services.sandbox_charge_settle(
            company=company,
            provider_reference=attempt.provider_reference,
            outcome="paid",
            http=to_app,
        )

    payment = reloaded(payment)
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.review_reason == ReviewReason.PAID_TWICE
    assert payment.captured_amount == Decimal("36.00")
    with tenant_context(company):
        assert Capture.objects.count() == 2
    assert topics(company).count("payment.captured") == 1
    assert topics(company).count("payment.review_needed") == 1


def test_a_payment_paid_twice_can_be_settled_by_refunding(
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

    services.payment_review_refund(payment=payment, actor=None)

    # Only the extra payment goes back; the order stays paid.
    payment = reloaded(payment)
    assert payment.review_reason == ReviewReason.NONE
    assert payment.captured_amount == Decimal("36.00")
    assert payment.refunded_amount == Decimal("18.00")
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED


# --- Stripe through the real endpoint --------------------------------------------------------


@pytest.fixture
def stripe_account(company: Company, settings: Any) -> GatewayAccount:
    # A breaker of its own: a shared Redis may hold another run's state for this company id.
    settings.CACHES = LOCAL_CACHE
    return services.gateway_account_save(
        company=company, gateway="stripe", credentials=STRIPE_CREDENTIALS, priority=10
    )


def stripe_intent_created(request: httpx.Request) -> httpx.Response:
    """Stripe's answer to POST /v1/payment_intents for a card payment (unconfirmed)."""
    assert request.url.path == "/v1/payment_intents"
    return httpx.Response(
        200,
        json={
            "id": "pi_3PasarTest0001",
            "object": "payment_intent",
            "amount": 4250,
            "currency": "sgd",
            "status": "requires_payment_method",
            "client_secret": "pi_3PasarTest0001_secret_abc",
            "livemode": False,
        },
    )


def succeeded_intent(intent_id: str, cents: int) -> dict[str, Any]:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": cents,
        "amount_received": cents,
        "currency": "sgd",
        "status": "succeeded",
    }


def test_a_signed_stripe_event_captures_the_payment_it_names(
    client: Client,
    company: Company,
    stripe_account: GatewayAccount,
    make_payment: Callable[..., Payment],
) -> None:
    payment = make_payment("42.50")
    stripe_api = httpx.Client(transport=httpx.MockTransport(stripe_intent_created))
    started_at_stripe = services.payment_start(
        payment=payment,
        method="card",
        base_url="http://testserver",
        return_url="http://testserver/done",
        http={"stripe": stripe_api},
    )
    intent_id = started_at_stripe.attempt.provider_reference
    assert (started_at_stripe.attempt.gateway, intent_id) == ("stripe", "pi_3PasarTest0001")
    body, headers = stripe_webhook("payment_intent.succeeded", succeeded_intent(intent_id, 4250))
    verified = stripe.Webhook.construct_event(
        body, headers["Stripe-Signature"], STRIPE_CREDENTIALS["webhook_secret"]
    )
    assert verified.type == "payment_intent.succeeded"

    answer = post(client, company, body, headers, gateway="stripe")

    assert answer.status_code == 200
    assert answer.json()["outcome"] == WebhookOutcome.PROCESSED
    payment = reloaded(payment)
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.captured_amount == Decimal("42.50")
    with tenant_context(company):
        capture = Capture.objects.get()
    assert (capture.gateway, capture.provider_reference) == ("stripe", intent_id)
    assert logs(company)[-1].event_id == verified.id
    assert post(client, company, body, headers, gateway="stripe").json()["outcome"] == (
        WebhookOutcome.DUPLICATE
    )


def _stripe_tampered(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body.replace(b"4250", b"9999"), headers


def _stripe_wrong_secret(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    at = int(timezone.now().timestamp())
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_other", at)
    return body, {**headers, "Stripe-Signature": header}


def _stripe_old(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    at = int(timezone.now().timestamp()) - 600
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), STRIPE_CREDENTIALS["webhook_secret"], at
    )
    return body, {**headers, "Stripe-Signature": header}


@pytest.mark.parametrize(
    "spoil",
    [_stripe_tampered, _stripe_wrong_secret, _stripe_old],
    ids=["tampered-body", "wrong-secret", "old-timestamp"],
)
def test_a_stripe_event_stripe_would_refuse_is_refused(
    client: Client,
    company: Company,
    stripe_account: GatewayAccount,
    make_payment: Callable[..., Payment],
    spoil: Callable[..., Any],
) -> None:
    payment = make_payment("42.50")
    stripe_attempt(payment, "pi_3PasarTest0002")
    body, headers = spoil(
        *stripe_webhook("payment_intent.succeeded", succeeded_intent("pi_3PasarTest0002", 4250))
    )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            body, headers["Stripe-Signature"], STRIPE_CREDENTIALS["webhook_secret"]
        )
    before = state(company, payment)

    answer = post(client, company, body, headers, gateway="stripe")

    assert answer.status_code == 400
    assert state(company, payment) == before
    assert logs(company)[-1].outcome == WebhookOutcome.REJECTED


# --- Tenancy ---------------------------------------------------------------------------------


def test_a_webhook_to_one_shop_cannot_touch_another_shops_payment(
    client: Client, company: Company, other_company: Company, sandbox: GatewayAccount
) -> None:
    services.sandbox_enable(company=other_company)
    theirs = services.payment_create(company=other_company, reference="SO-000001", amount="50.00")
    their_attempt = start_at_sandbox(theirs)
    body, headers = capture_webhook(company, theirs, their_attempt.provider_reference)
    before = state(other_company, theirs)

    answer = post(client, company, body, headers)

    assert answer.status_code == 200
    assert answer.json()["outcome"] == WebhookOutcome.UNMATCHED
    assert state(other_company, theirs) == before
    assert logs(other_company) == []
    with tenant_context(company):
        assert Capture.objects.count() == 0


def test_another_shops_signature_does_not_verify_here(
    client: Client, company: Company, other_company: Company, sandbox: GatewayAccount
) -> None:
    services.sandbox_enable(company=other_company)
    theirs = services.payment_create(company=other_company, reference="SO-000001", amount="50.00")
    their_attempt = start_at_sandbox(theirs)
    body, headers = capture_webhook(other_company, theirs, their_attempt.provider_reference)

    assert post(client, company, body, headers).status_code == 400
    assert reloaded(theirs).status == PaymentStatus.PENDING


def test_refunding_a_review_gives_back_every_capture(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    to_app: dict[str, httpx.Client],
) -> None:
    payment = make_payment("18.00")
    attempts = [start_at_sandbox(payment), start_at_sandbox(payment)]
    services.payment_cancel(payment=payment, actor=None)
    # Both charges are paid after the cancellation: kept for review, then all given back.
    for attempt in attempts:
        services.sandbox_charge_settle(
            company=company,
            provider_reference=attempt.provider_reference,
            outcome="paid",
            http=to_app,
        )

    refund = services.payment_review_refund(payment=payment, actor=None)

    payment = reloaded(payment)
    assert refund.amount == Decimal("18.00")
    assert payment.captured_amount == Decimal("36.00")
    assert payment.refunded_amount == Decimal("36.00")
    assert payment.status == PaymentStatus.REFUNDED
