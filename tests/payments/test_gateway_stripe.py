"""The Stripe gateway against a fake Stripe built from the documented request and answer shapes.

Webhook signatures are made with the official `stripe` library's own header builder, and the
library's verifier is run on the same input to show both agree.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from pasar.core.money import from_cents, to_cents
from pasar.payments.gateways import _http
from pasar.payments.gateways.base import (
    ChargeRequest,
    ChargeStatus,
    EventKind,
    Gateway,
    GatewayCredentialsInvalid,
    GatewayRejected,
    GatewayUnavailable,
    InvalidSignature,
    MalformedWebhook,
    Method,
    RefundRequest,
    StaleWebhook,
)
from pasar.payments.gateways.stripe import StripeGateway
from tests.payments.gateway_http import FakeProvider, answer, form

SECRET_KEY = "sk_test_51Pasar000000000000000000"
WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
PAYMENT_ID = "6f1c1f0e-8a2d-4b7e-9d3a-1f2e3d4c5b6a"
PAYNOW_QR = (
    "00020101021226500009SG.PAYNOW010120213201912345K03010520400005303702540512.345802SG6304ABCD"
)


def gateway(provider: FakeProvider, *, live: bool = False, key: str = SECRET_KEY) -> StripeGateway:
    return StripeGateway(
        {"secret_key": key, "webhook_secret": WEBHOOK_SECRET}, http=provider.client, live=live
    )


def charge_request(*methods: Method, amount: str = "12.34") -> ChargeRequest:
    return ChargeRequest(
        payment_id=PAYMENT_ID,
        reference="SO-000123",
        amount=Decimal(amount),
        currency="SGD",
        expires_at=datetime(2026, 11, 28, 10, 30, tzinfo=UTC),
        description="Order SO-000123 at Kopi Test",
        methods=methods or (Method.CARD,),
        idempotency_key="attempt-7b0c9a1e",
        webhook_url="https://shop.example/payments/webhooks/stripe",
        return_url="https://shop.example/orders/SO-000123",
    )


def payment_intent(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "payment_intent",
        "amount": 1234,
        "amount_capturable": 0,
        "amount_received": 0,
        "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
        "currency": "sgd",
        "livemode": False,
        "metadata": {"payment_id": PAYMENT_ID, "reference": "SO-000123"},
        "next_action": None,
        "payment_method_types": ["card"],
        "status": status,
        **fields,
    }


def test_gateway_satisfies_the_protocol() -> None:
    implementation: Gateway = gateway(FakeProvider())
    assert implementation.name == "stripe"
    assert [field.name for field in implementation.credential_fields] == [
        "secret_key",
        "webhook_secret",
    ]


def test_one_client_per_provider_and_process_with_the_timeouts_from_settings(
    settings: Any,
) -> None:
    settings.PAYMENT_GATEWAY_TIMEOUT = 7.0
    settings.PAYMENT_GATEWAY_CONNECT_TIMEOUT = 2.0
    _http.close_shared_clients()
    credentials = {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}
    first, second = StripeGateway(credentials), StripeGateway(credentials)
    assert _http._clients == {}  # made on the first call, not with the gateway
    client = first._client()
    assert second._client() is client
    assert client.timeout == httpx.Timeout(7.0, connect=2.0)
    _http.close_shared_clients()
    assert client.is_closed
    assert not first._client().is_closed  # a closed one is replaced


def test_verifying_a_webhook_makes_no_http_client() -> None:
    _http.close_shared_clients()
    now = int(time.time())
    body = json.dumps(
        {"id": "evt_1", "type": "charge.refunded", "created": now, "data": {"object": CHARGE}}
    ).encode()
    credentials = {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}
    StripeGateway(credentials).parse_webhook(body, signed(body, at=now), now=at_time(now))
    assert _http._clients == {}


# --- create_charge -------------------------------------------------------------------------


def test_card_charge_creates_an_unconfirmed_payment_intent_in_cents() -> None:
    provider = FakeProvider(answer(200, payment_intent("requires_payment_method")))

    result = gateway(provider).create_charge(charge_request(Method.CARD))

    sent = provider.last
    assert sent.method == "POST"
    assert str(sent.url) == "https://api.stripe.com/v1/payment_intents"
    assert sent.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.headers["Idempotency-Key"] == "attempt-7b0c9a1e"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(sent) == {
        "amount": ["1234"],
        "currency": ["sgd"],
        "payment_method_types[]": ["card"],
        "description": ["Order SO-000123 at Kopi Test"],
        "metadata[payment_id]": [PAYMENT_ID],
        "metadata[reference]": ["SO-000123"],
    }
    assert result.provider_reference == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert result.status == ChargeStatus.PENDING
    assert result.paynow_payload == ""
    assert result.raw["client_secret"].startswith("pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_")


def test_paynow_charge_is_confirmed_on_the_server_and_returns_the_qr() -> None:
    qr = {
        "data": PAYNOW_QR,
        "hosted_instructions_url": "https://payments.stripe.com/qr/instructions/CCsaFwoVYWNjdF8x",
        "image_url_png": "https://qr.stripe.com/test_YWNjdF8x.png",
        "image_url_svg": "https://qr.stripe.com/test_YWNjdF8x.svg",
    }
    provider = FakeProvider(
        answer(
            200,
            payment_intent(
                "requires_action",
                payment_method_types=["card", "paynow"],
                next_action={"type": "paynow_display_qr_code", "paynow_display_qr_code": qr},
            ),
        )
    )

    result = gateway(provider).create_charge(charge_request(Method.PAYNOW, Method.CARD))

    fields = form(provider.last)
    assert fields["payment_method_types[]"] == ["paynow", "card"]
    assert fields["confirm"] == ["true"]
    assert fields["payment_method_data[type]"] == ["paynow"]
    assert result.status == ChargeStatus.PENDING
    assert result.paynow_payload == PAYNOW_QR
    assert result.checkout_url == qr["hosted_instructions_url"]


def test_methods_stripe_does_not_offer_are_refused_without_a_call() -> None:
    provider = FakeProvider()
    with pytest.raises(GatewayRejected):
        gateway(provider).create_charge(charge_request(Method.GRABPAY))
    assert provider.requests == []


@pytest.mark.parametrize(("live", "key"), [(True, SECRET_KEY), (False, "sk_live_51Pasar0000")])
def test_a_key_of_the_wrong_mode_is_refused_before_sending(live: bool, key: str) -> None:
    provider = FakeProvider()
    with pytest.raises(GatewayCredentialsInvalid):
        gateway(provider, live=live, key=key).create_charge(charge_request())
    assert provider.requests == []


# --- inquire -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stripe_status", "status"),
    [
        ("requires_payment_method", ChargeStatus.PENDING),
        ("requires_action", ChargeStatus.PENDING),
        ("processing", ChargeStatus.PENDING),
        ("requires_capture", ChargeStatus.AUTHORISED),
        ("succeeded", ChargeStatus.CAPTURED),
        ("canceled", ChargeStatus.CANCELLED),
    ],
)
def test_inquire_maps_the_payment_intent_status(stripe_status: str, status: ChargeStatus) -> None:
    provider = FakeProvider(answer(200, payment_intent(stripe_status, amount_received=1234)))

    result = gateway(provider).inquire("pi_3MtwBwLkdIwHu7ix28a3tqPa")

    assert provider.last.method == "GET"
    assert provider.last.url.path == "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert provider.last.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert result.status == status
    assert result.amount == (Decimal("12.34") if status == ChargeStatus.CAPTURED else None)


def test_inquire_cannot_be_steered_to_another_path() -> None:
    provider = FakeProvider(answer(200, payment_intent("succeeded")))
    gateway(provider).inquire("pi_1/../../refunds")
    assert provider.last.url.raw_path == b"/v1/payment_intents/pi_1%2F..%2F..%2Frefunds"


# --- refund --------------------------------------------------------------------------------


def refund_request() -> RefundRequest:
    return RefundRequest(
        provider_reference="pi_3MtwBwLkdIwHu7ix28a3tqPa",
        amount=Decimal("5.00"),
        currency="SGD",
        idempotency_key="refund-2f9c",
        reason="damaged on arrival",
    )


def refund_object(status: str) -> dict[str, Any]:
    return {
        "id": "re_3MtwBwLkdIwHu7ix0yX1Abcd",
        "object": "refund",
        "amount": 500,
        "charge": "ch_3MtwBwLkdIwHu7ix0snN0B15",
        "currency": "sgd",
        "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "status": status,
    }


@pytest.mark.parametrize(("status", "succeeded"), [("succeeded", True), ("pending", False)])
def test_refund_posts_the_amount_in_cents(status: str, succeeded: bool) -> None:
    provider = FakeProvider(answer(200, refund_object(status)))

    result = gateway(provider).refund(refund_request())

    sent = provider.last
    assert str(sent.url) == "https://api.stripe.com/v1/refunds"
    assert sent.headers["Idempotency-Key"] == "refund-2f9c"
    assert form(sent) == {
        "payment_intent": ["pi_3MtwBwLkdIwHu7ix28a3tqPa"],
        "amount": ["500"],
        "metadata[reason]": ["damaged on arrival"],
    }
    assert result.provider_refund_id == "re_3MtwBwLkdIwHu7ix0yX1Abcd"
    assert result.succeeded is succeeded


def test_a_failed_refund_is_rejected() -> None:
    provider = FakeProvider(answer(200, refund_object("failed")))
    with pytest.raises(GatewayRejected) as caught:
        gateway(provider).refund(refund_request())
    assert caught.value.raw["status"] == "failed"


# --- HTTP failures -------------------------------------------------------------------------

CARD_DECLINED = {
    "error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
    }
}
BAD_KEY = {
    "error": {
        "type": "invalid_request_error",
        "message": "Invalid API Key provided: sk_test_****0000",
    }
}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (httpx.ReadTimeout("timed out"), GatewayUnavailable),
        (httpx.ConnectTimeout("timed out"), GatewayUnavailable),
        (httpx.ConnectError("connection refused"), GatewayUnavailable),
        (answer(500, {"error": {"type": "api_error", "message": "oops"}}), GatewayUnavailable),
        (httpx.Response(502, text="<html>Bad gateway</html>"), GatewayUnavailable),
        (
            answer(429, {"error": {"type": "rate_limit_error", "message": "slow"}}),
            GatewayUnavailable,
        ),
        (answer(401, BAD_KEY), GatewayCredentialsInvalid),
        (answer(403, BAD_KEY), GatewayCredentialsInvalid),
        (answer(402, CARD_DECLINED), GatewayRejected),
        (
            answer(400, {"error": {"type": "invalid_request_error", "message": "x"}}),
            GatewayRejected,
        ),
        (httpx.Response(200, text="not json"), GatewayUnavailable),
    ],
)
def test_http_failures_map_to_gateway_errors(
    reply: httpx.Response | Exception, error: type[Exception]
) -> None:
    with pytest.raises(error):
        gateway(FakeProvider(reply)).create_charge(charge_request())


def test_a_declined_card_keeps_stripes_answer() -> None:
    with pytest.raises(GatewayRejected) as caught:
        gateway(FakeProvider(answer(402, CARD_DECLINED))).create_charge(charge_request())
    assert caught.value.raw == CARD_DECLINED
    assert "Your card was declined." in caught.value.message


# --- webhooks ------------------------------------------------------------------------------


def event(event_type: str, obj: dict[str, Any]) -> bytes:
    body = {
        "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1795861800,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(body, indent=2).encode()


def signed(body: bytes, *, at: int, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, at)
    return {"Stripe-Signature": header}


def at_time(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


CHARGE = {
    "id": "ch_3MtwBwLkdIwHu7ix0snN0B15",
    "object": "charge",
    "amount": 1234,
    "amount_refunded": 500,
    "currency": "sgd",
    "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
    "refunded": False,
}
DISPUTE = {
    "id": "dp_1MtwBwLkdIwHu7ix0a2b3c4d",
    "object": "dispute",
    "amount": 1234,
    "charge": "ch_3MtwBwLkdIwHu7ix0snN0B15",
    "currency": "sgd",
    "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
    "reason": "fraudulent",
    "status": "needs_response",
}


@pytest.mark.parametrize(
    ("event_type", "obj", "kind", "amount", "refund_id"),
    [
        (
            "payment_intent.succeeded",
            payment_intent("succeeded", amount_received=1234),
            EventKind.CAPTURED,
            "12.34",
            "",
        ),
        (
            "payment_intent.payment_failed",
            payment_intent("requires_payment_method"),
            EventKind.FAILED,
            None,
            "",
        ),
        ("payment_intent.canceled", payment_intent("canceled"), EventKind.CANCELLED, None, ""),
        (
            "payment_intent.amount_capturable_updated",
            payment_intent("requires_capture", amount_capturable=1234),
            EventKind.AUTHORISED,
            "12.34",
            "",
        ),
        # A running total naming no refund: the refund.* events carry each refund instead.
        ("charge.refunded", CHARGE, EventKind.IGNORED, "5.00", ""),
        (
            "refund.updated",
            refund_object("succeeded"),
            EventKind.REFUNDED,
            "5.00",
            "re_3MtwBwLkdIwHu7ix0yX1Abcd",
        ),
        (
            "refund.updated",
            refund_object("failed"),
            EventKind.REFUND_FAILED,
            "5.00",
            "re_3MtwBwLkdIwHu7ix0yX1Abcd",
        ),
        (
            "refund.updated",
            refund_object("pending"),
            EventKind.IGNORED,
            "5.00",
            "re_3MtwBwLkdIwHu7ix0yX1Abcd",
        ),
        ("charge.dispute.created", DISPUTE, EventKind.DISPUTED, "12.34", ""),
    ],
)
def test_webhook_events_map_to_what_they_mean(
    event_type: str, obj: dict[str, Any], kind: EventKind, amount: str | None, refund_id: str
) -> None:
    body = event(event_type, obj)
    now = 1795861810

    parsed = gateway(FakeProvider()).parse_webhook(body, signed(body, at=now), now=at_time(now))

    assert parsed.event_id == "evt_1NG8Du2eZvKYlo2CUI79vXWy"
    assert parsed.kind == kind
    assert parsed.provider_reference == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert parsed.amount == (Decimal(amount) if amount else None)
    assert parsed.currency == "SGD"
    assert parsed.provider_refund_id == refund_id
    assert parsed.occurred_at == datetime(2026, 11, 28, 10, 30, tzinfo=UTC)


def test_other_events_are_verified_but_ignored() -> None:
    body = event("customer.created", {"id": "cus_NffrFeUfNV2Hib", "object": "customer"})
    parsed = gateway(FakeProvider()).parse_webhook(
        body, signed(body, at=1795861800), now=at_time(1795861800)
    )
    assert parsed.kind == EventKind.IGNORED
    assert parsed.provider_reference == ""


def test_our_verifier_agrees_with_stripes_on_a_valid_signature() -> None:
    body = event("payment_intent.succeeded", payment_intent("succeeded", amount_received=1234))
    now = int(time.time())
    headers = signed(body, at=now)

    ours = gateway(FakeProvider()).parse_webhook(body, headers, now=at_time(now))
    theirs = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], WEBHOOK_SECRET)

    assert ours.event_id == theirs.id
    assert ours.kind == EventKind.CAPTURED


def test_one_valid_signature_among_several_is_enough() -> None:
    """While a secret is rolled, Stripe signs with the old and the new one."""
    body = event("payment_intent.succeeded", payment_intent("succeeded", amount_received=1234))
    now = int(time.time())
    valid = signed(body, at=now)["Stripe-Signature"]
    old_secret = signed(body, at=now, secret="whsec_old_secret")["Stripe-Signature"]
    header = f"{old_secret},v1={'0' * 64},{valid.split(',')[1]}"

    parsed = gateway(FakeProvider()).parse_webhook(
        body, {"Stripe-Signature": header}, now=at_time(now)
    )

    assert parsed.kind == EventKind.CAPTURED
    assert stripe.Webhook.construct_event(body, header, WEBHOOK_SECRET).id == parsed.event_id


def both_refuse(body: bytes, header: str | None, now: datetime) -> type[Exception]:
    """Run our verifier and Stripe's on the same input; return the error ours raised."""
    headers = {"Stripe-Signature": header} if header is not None else {}
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, WEBHOOK_SECRET)
    with pytest.raises(InvalidSignature) as caught:
        gateway(FakeProvider()).parse_webhook(body, headers, now=now)
    return type(caught.value)


def test_a_tampered_body_is_refused_by_both() -> None:
    body = event("payment_intent.succeeded", payment_intent("succeeded", amount_received=1234))
    now = int(time.time())
    header = signed(body, at=now)["Stripe-Signature"]
    tampered = body.replace(b'"amount_received": 1234', b'"amount_received": 999999')

    assert both_refuse(tampered, header, at_time(now)) is InvalidSignature


def test_a_wrong_secret_is_refused_by_both() -> None:
    body = event("payment_intent.succeeded", payment_intent("succeeded"))
    now = int(time.time())
    header = signed(body, at=now, secret="whsec_somebody_else")["Stripe-Signature"]

    assert both_refuse(body, header, at_time(now)) is InvalidSignature


@pytest.mark.parametrize("header", [None, "", "t=1795861800", "v1=abc", "t=soon,v1=abc"])
def test_a_missing_or_unreadable_header_is_refused_by_both(header: str | None) -> None:
    body = event("payment_intent.succeeded", payment_intent("succeeded"))
    assert both_refuse(body, header, datetime.now(UTC)) is InvalidSignature


def test_an_old_signature_is_stale_for_both() -> None:
    body = event("payment_intent.succeeded", payment_intent("succeeded"))
    now = int(time.time())
    header = signed(body, at=now - 301)["Stripe-Signature"]

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, WEBHOOK_SECRET)
    with pytest.raises(StaleWebhook):
        gateway(FakeProvider()).parse_webhook(body, {"Stripe-Signature": header}, now=at_time(now))


@pytest.mark.parametrize("skew", [-300, 300])
def test_the_tolerance_edge_is_accepted(skew: int) -> None:
    body = event("payment_intent.succeeded", payment_intent("succeeded"))
    now = 1795861800
    parsed = gateway(FakeProvider()).parse_webhook(
        body, signed(body, at=now + skew), now=at_time(now)
    )
    assert parsed.event_id == "evt_1NG8Du2eZvKYlo2CUI79vXWy"


def test_a_signature_from_the_future_is_stale() -> None:
    """Stripe's library checks only the past; a timestamp far ahead is refused here too."""
    body = event("payment_intent.succeeded", payment_intent("succeeded"))
    now = 1795861800
    with pytest.raises(StaleWebhook):
        gateway(FakeProvider()).parse_webhook(body, signed(body, at=now + 301), now=at_time(now))


def test_the_signature_is_checked_before_the_body_is_read() -> None:
    now = 1795861800
    with pytest.raises(InvalidSignature):
        gateway(FakeProvider()).parse_webhook(
            b"{not json", {"Stripe-Signature": f"t={now},v1={'0' * 64}"}, now=at_time(now)
        )


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"object": "event"}'])
def test_a_signed_body_that_is_not_an_event_is_malformed(body: bytes) -> None:
    now = 1795861800
    with pytest.raises(MalformedWebhook):
        gateway(FakeProvider()).parse_webhook(body, signed(body, at=now), now=at_time(now))


def test_header_names_are_matched_whatever_their_case() -> None:
    body = event("payment_intent.canceled", payment_intent("canceled"))
    now = 1795861800
    headers = {"stripe-signature": signed(body, at=now)["Stripe-Signature"]}
    assert gateway(FakeProvider()).parse_webhook(body, headers, now=at_time(now)).kind == (
        EventKind.CANCELLED
    )


# --- cents ---------------------------------------------------------------------------------

dollars = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2)


@given(dollars)
def test_dollars_to_cents_and_back_is_exact(amount: Decimal) -> None:
    cents = to_cents(amount)
    assert isinstance(cents, int)
    assert from_cents(cents) == amount
    assert cents == int(amount * 100)


@given(st.integers(min_value=0, max_value=99_999_999))
def test_cents_to_dollars_and_back_is_exact(cents: int) -> None:
    amount = from_cents(cents)
    assert amount == amount.quantize(Decimal("0.01"))
    assert to_cents(amount) == cents


@given(dollars, st.integers(min_value=1, max_value=9))
def test_a_fraction_of_a_cent_is_refused(amount: Decimal, extra: int) -> None:
    with pytest.raises(ValueError, match="two decimal places"):
        to_cents(amount + Decimal(extra) / 1000)


@given(dollars)
def test_the_amount_sent_to_stripe_is_the_exact_number_of_cents(amount: Decimal) -> None:
    provider = FakeProvider(answer(200, payment_intent("requires_payment_method")))
    gateway(provider).create_charge(charge_request(amount=str(amount)))
    assert form(provider.last)["amount"] == [str(to_cents(amount))]
    assert Decimal(form(provider.last)["amount"][0]) / 100 == amount


def test_dollars_become_cents_in_known_cases() -> None:
    assert to_cents(Decimal("0.01")) == 1
    assert to_cents(Decimal("12.3")) == 1230
    assert to_cents(Decimal("19.99")) == 1999
    assert from_cents(1999) == Decimal("19.99")
    assert str(from_cents(100)) == "1.00"
