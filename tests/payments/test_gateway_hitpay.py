"""The HitPay gateway against a fake HitPay built from the documented requests and answers."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

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
)
from pasar.payments.gateways.hitpay import HitPayGateway
from tests.payments.gateway_http import FakeProvider, answer, form

API_KEY = "b286daabf9921b5a01a4621f026c111e046f8911feba212996c92159b98427d"
SALT = "Pf4vq0X2lT8dYwq7cZ1m3kN5rJ9sB6hE"
REQUEST_ID = "9ef68e2e-3569-4f69-9f68-04c7e4bb007c"
CHARGE_ID = "9ef68e5a-4e6b-4b1f-a3c1-2f7ef0c1d7a2"
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def gateway(provider: FakeProvider, *, live: bool = False) -> HitPayGateway:
    return HitPayGateway({"api_key": API_KEY, "salt": SALT}, http=provider.client, live=live)


def charge_request(*methods: Method) -> ChargeRequest:
    return ChargeRequest(
        payment_id="6f1c1f0e-8a2d-4b7e-9d3a-1f2e3d4c5b6a",
        reference="SO-000123",
        amount=Decimal("12.30"),
        currency="SGD",
        expires_at=datetime(2026, 11, 28, 10, 30, tzinfo=UTC),
        description="Order SO-000123 at Kopi Test",
        methods=methods or (Method.PAYNOW, Method.CARD),
        idempotency_key="attempt-7b0c9a1e",
        webhook_url="https://shop.example/payments/webhooks/hitpay",
        return_url="https://shop.example/orders/SO-000123",
    )


def payment_request(status: str = "pending", **fields: Any) -> dict[str, Any]:
    return {
        "id": REQUEST_ID,
        "name": None,
        "email": None,
        "amount": "12.30",
        "currency": "sgd",
        "status": status,
        "purpose": "Order SO-000123 at Kopi Test",
        "reference_number": "SO-000123",
        "payment_methods": ["paynow_online", "card"],
        "url": f"https://securecheckout.sandbox.hit-pay.com/payment-request/@kopi/{REQUEST_ID}/checkout",
        "redirect_url": "https://shop.example/orders/SO-000123",
        "webhook": "https://shop.example/payments/webhooks/hitpay",
        "allow_repeated_payments": False,
        "expiry_date": "2026-11-28T18:30:00",
        "created_at": "2026-11-28T18:00:00",
        "updated_at": "2026-11-28T18:00:00",
        **fields,
    }


def test_gateway_satisfies_the_protocol() -> None:
    implementation: Gateway = gateway(FakeProvider())
    assert implementation.name == "hitpay"
    assert [field.name for field in implementation.credential_fields] == ["api_key", "salt"]


# --- create_charge -------------------------------------------------------------------------


def test_create_posts_a_payment_request_form_to_the_sandbox() -> None:
    provider = FakeProvider(answer(201, payment_request()))

    result = gateway(provider).create_charge(charge_request())

    sent = provider.last
    assert sent.method == "POST"
    assert str(sent.url) == "https://api.sandbox.hit-pay.com/v1/payment-requests"
    assert sent.headers["X-BUSINESS-API-KEY"] == API_KEY
    assert sent.headers["X-Requested-With"] == "XMLHttpRequest"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(sent) == {
        "amount": ["12.30"],
        "currency": ["SGD"],
        "payment_methods[]": ["paynow_online", "card"],
        "reference_number": ["SO-000123"],
        "purpose": ["Order SO-000123 at Kopi Test"],
        "redirect_url": ["https://shop.example/orders/SO-000123"],
        "webhook": ["https://shop.example/payments/webhooks/hitpay"],
        # 10:30 UTC is 18:30 in Singapore, the time HitPay reads.
        "expiry_date": ["2026-11-28 18:30:00"],
    }
    assert result.provider_reference == REQUEST_ID
    assert result.status == ChargeStatus.PENDING
    assert result.checkout_url.endswith(f"/{REQUEST_ID}/checkout")
    assert result.amount is None


def test_live_mode_uses_the_live_host() -> None:
    provider = FakeProvider(answer(201, payment_request()))
    gateway(provider, live=True).create_charge(charge_request())
    assert str(provider.last.url) == "https://api.hit-pay.com/v1/payment-requests"


def test_a_paynow_only_request_asks_for_an_embedded_qr() -> None:
    qr = "00020101021226500009SG.PAYNOW0101202092017012345K030105204000053037025405" + "12.30"
    provider = FakeProvider(
        answer(201, payment_request(qr_code_data={"qr_code": qr, "qr_code_expiry": None}))
    )

    result = gateway(provider).create_charge(charge_request(Method.PAYNOW))

    assert form(provider.last)["generate_qr"] == ["true"]
    assert form(provider.last)["payment_methods[]"] == ["paynow_online"]
    assert result.paynow_payload == qr
    assert result.checkout_url


def test_a_mixed_request_does_not_ask_for_a_qr() -> None:
    provider = FakeProvider(answer(201, payment_request()))
    result = gateway(provider).create_charge(charge_request(Method.CARD, Method.GRABPAY))
    assert "generate_qr" not in form(provider.last)
    assert form(provider.last)["payment_methods[]"] == ["card", "grabpay_direct"]
    assert result.paynow_payload == ""


# --- inquire -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hitpay_status", "status"),
    [
        ("pending", ChargeStatus.PENDING),
        ("completed", ChargeStatus.CAPTURED),
        ("failed", ChargeStatus.FAILED),
        ("expired", ChargeStatus.CANCELLED),
        ("canceled", ChargeStatus.CANCELLED),
    ],
)
def test_inquire_reads_the_payment_request_status(hitpay_status: str, status: ChargeStatus) -> None:
    provider = FakeProvider(answer(200, payment_request(hitpay_status)))

    result = gateway(provider).inquire(REQUEST_ID)

    assert provider.last.method == "GET"
    assert (
        str(provider.last.url)
        == f"https://api.sandbox.hit-pay.com/v1/payment-requests/{REQUEST_ID}"
    )
    assert provider.last.headers["X-BUSINESS-API-KEY"] == API_KEY
    assert result.status == status
    assert result.amount == (Decimal("12.30") if status == ChargeStatus.CAPTURED else None)


# --- refund --------------------------------------------------------------------------------


def paid_request(*payment_statuses: str) -> dict[str, Any]:
    payments = [
        {
            "id": f"{CHARGE_ID[:-1]}{index}",
            "quantity": 1,
            "status": payment_status,
            "currency": "sgd",
            "amount": "12.30",
            "refunded_amount": "0.00",
            "payment_type": "paynow_online",
        }
        for index, payment_status in enumerate(payment_statuses)
    ]
    return payment_request("completed", payments=payments)


def refund_request() -> RefundRequest:
    return RefundRequest(
        provider_reference=REQUEST_ID,
        amount=Decimal("5"),
        currency="SGD",
        idempotency_key="refund-2f9c",
    )


def test_refund_finds_the_captured_payment_and_refunds_it() -> None:
    refunded = {
        "id": "9ef6957e-6b1b-4e08-8cde-d5f5c908418d",
        "payment_id": f"{CHARGE_ID[:-1]}1",
        "amount_refunded": 5,
        "total_amount": 12.3,
        "currency": "sgd",
        "status": "succeeded",
        "payment_method": "paynow_online",
        "refunded_at": "2026-11-28T10:05:00.000000Z",
    }
    provider = FakeProvider(answer(200, paid_request("failed", "succeeded")), answer(200, refunded))

    result = gateway(provider).refund(refund_request())

    lookup, refund = provider.requests
    assert lookup.url.path == f"/v1/payment-requests/{REQUEST_ID}"
    assert refund.method == "POST"
    assert str(refund.url) == "https://api.sandbox.hit-pay.com/v1/refund"
    assert refund.headers["X-BUSINESS-API-KEY"] == API_KEY
    assert form(refund) == {"payment_id": [f"{CHARGE_ID[:-1]}1"], "amount": ["5.00"]}
    assert result.provider_refund_id == "9ef6957e-6b1b-4e08-8cde-d5f5c908418d"
    assert result.succeeded is True


def test_refund_without_a_captured_payment_is_rejected_before_refunding() -> None:
    provider = FakeProvider(answer(200, paid_request("failed")))
    with pytest.raises(GatewayRejected):
        gateway(provider).refund(refund_request())
    assert len(provider.requests) == 1


# --- HTTP failures -------------------------------------------------------------------------

INVALID = {"message": "The given data was invalid.", "errors": {"amount": ["Too small."]}}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (httpx.ReadTimeout("timed out"), GatewayUnavailable),
        (httpx.ConnectError("no route to host"), GatewayUnavailable),
        (answer(500, {"message": "Server Error"}), GatewayUnavailable),
        (answer(503, {"message": "Service Unavailable"}), GatewayUnavailable),
        (answer(429, {"message": "Too Many Attempts."}), GatewayUnavailable),
        (answer(401, {"message": "Unauthenticated."}), GatewayCredentialsInvalid),
        (answer(403, {"message": "Forbidden"}), GatewayCredentialsInvalid),
        (answer(422, INVALID), GatewayRejected),
        (answer(404, {"message": "No query results for model"}), GatewayRejected),
    ],
)
def test_http_failures_map_to_gateway_errors(
    reply: httpx.Response | Exception, error: type[Exception]
) -> None:
    with pytest.raises(error):
        gateway(FakeProvider(reply)).create_charge(charge_request())


def test_a_refusal_keeps_hitpays_answer() -> None:
    with pytest.raises(GatewayRejected) as caught:
        gateway(FakeProvider(answer(422, INVALID))).create_charge(charge_request())
    assert caught.value.raw == INVALID
    assert "The given data was invalid." in caught.value.message


# --- event webhooks (v2) -------------------------------------------------------------------


def v2(
    obj: dict[str, Any], event_object: str, event_type: str, *, salt: str = SALT
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(obj).encode()
    signature = hmac.new(salt.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "Hitpay-Signature": signature,
        "Hitpay-Event-Object": event_object,
        "Hitpay-Event-Type": event_type,
        "User-Agent": "HitPay v2.0",
    }
    return body, headers


def charge(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": CHARGE_ID,
        "business_id": "9130c422-bf97-4bd1-b370-07a3a6f40708",
        "channel": "api_custom",
        "status": status,
        "currency": "sgd",
        "amount": 12.3,
        "refunded_amount": 0,
        "refunded_at": None,
        "payment_request_id": REQUEST_ID,
        **fields,
    }


@pytest.mark.parametrize(
    ("obj", "event_object", "event_type", "kind", "amount"),
    [
        (payment_request("completed"), "payment_request", "completed", EventKind.CAPTURED, "12.30"),
        (payment_request("failed"), "payment_request", "failed", EventKind.FAILED, None),
        (charge("succeeded"), "charge", "created", EventKind.CAPTURED, "12.30"),
        (
            charge("partially_refunded", refunded_amount=5),
            "charge",
            "updated",
            EventKind.REFUNDED,
            "5.00",
        ),
        (
            charge("refunded", refunded_amount=12.3),
            "charge",
            "updated",
            EventKind.REFUNDED,
            "12.30",
        ),
    ],
)
def test_event_webhooks_map_to_what_they_mean(
    obj: dict[str, Any], event_object: str, event_type: str, kind: EventKind, amount: str | None
) -> None:
    body, headers = v2(obj, event_object, event_type)

    event = gateway(FakeProvider()).parse_webhook(body, headers, now=NOW)

    assert event.kind == kind
    assert event.provider_reference == REQUEST_ID
    assert event.amount == (Decimal(amount) if amount else None)
    assert event.currency == "SGD"


def test_a_charge_that_names_no_payment_request_is_ignored() -> None:
    body, headers = v2(charge("succeeded", payment_request_id=None), "charge", "created")
    event = gateway(FakeProvider()).parse_webhook(body, headers, now=NOW)
    assert event.kind == EventKind.IGNORED
    assert event.provider_reference == ""


def test_other_objects_are_verified_but_ignored() -> None:
    body, headers = v2({"id": "98f18bb8-order", "status": "completed"}, "order", "created")
    assert gateway(FakeProvider()).parse_webhook(body, headers, now=NOW).kind == EventKind.IGNORED


def test_a_redelivery_has_the_same_event_id_and_a_new_state_a_new_one() -> None:
    parse = gateway(FakeProvider()).parse_webhook
    first = parse(
        *v2(charge("partially_refunded", refunded_amount=2), "charge", "updated"), now=NOW
    )
    again = parse(
        *v2(charge("partially_refunded", refunded_amount=2), "charge", "updated"), now=NOW
    )
    second = parse(
        *v2(charge("partially_refunded", refunded_amount=5), "charge", "updated"), now=NOW
    )
    created = parse(*v2(charge("succeeded"), "charge", "created"), now=NOW)

    assert first.event_id == again.event_id
    assert len({first.event_id, second.event_id, created.event_id}) == 3


def test_a_tampered_body_is_refused() -> None:
    body, headers = v2(payment_request("completed"), "payment_request", "completed")
    tampered = body.replace(b'"12.30"', b'"0.01"')
    with pytest.raises(InvalidSignature):
        gateway(FakeProvider()).parse_webhook(tampered, headers, now=NOW)


def test_a_body_signed_with_another_salt_is_refused() -> None:
    body, headers = v2(payment_request("completed"), "payment_request", "completed", salt="other")
    with pytest.raises(InvalidSignature):
        gateway(FakeProvider()).parse_webhook(body, headers, now=NOW)


def test_a_signed_body_that_is_not_an_object_is_malformed() -> None:
    body = b"[1, 2]"
    headers = {"Hitpay-Signature": hmac.new(SALT.encode(), body, hashlib.sha256).hexdigest()}
    with pytest.raises(MalformedWebhook):
        gateway(FakeProvider()).parse_webhook(body, headers, now=NOW)


def test_header_names_are_matched_whatever_their_case() -> None:
    body, headers = v2(payment_request("completed"), "payment_request", "completed")
    lower = {name.lower(): value for name, value in headers.items()}
    assert gateway(FakeProvider()).parse_webhook(body, lower, now=NOW).kind == EventKind.CAPTURED


# --- the payment request's own webhook (form-encoded, hmac field) -----------------------


def v1(fields: dict[str, str], *, salt: str = SALT) -> bytes:
    signed = "".join(f"{key}{fields[key]}" for key in sorted(fields))
    mac = hmac.new(salt.encode(), signed.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hmac": mac}).encode()


V1_FIELDS = {
    "payment_id": CHARGE_ID,
    "payment_request_id": REQUEST_ID,
    "phone": "",
    "amount": "12.30",
    "currency": "SGD",
    "status": "completed",
    "reference_number": "SO-000123",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_the_form_webhook_is_verified_and_read() -> None:
    event = gateway(FakeProvider()).parse_webhook(v1(V1_FIELDS), FORM, now=NOW)

    assert event.kind == EventKind.CAPTURED
    assert event.provider_reference == REQUEST_ID
    assert event.amount == Decimal("12.30")
    assert event.event_id == f"payment:{CHARGE_ID}:completed"


def test_a_failed_form_webhook_is_a_failure() -> None:
    event = gateway(FakeProvider()).parse_webhook(
        v1({**V1_FIELDS, "status": "failed"}), FORM, now=NOW
    )
    assert event.kind == EventKind.FAILED
    assert event.amount == Decimal("12.30")


@pytest.mark.parametrize(
    "body",
    [
        v1(V1_FIELDS).replace(b"amount=12.30", b"amount=0.01"),
        v1(V1_FIELDS, salt="other"),
        urlencode(V1_FIELDS).encode(),
        b"",
        b'{"id": "no signature at all"}',
    ],
)
def test_an_unsigned_or_tampered_form_webhook_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidSignature):
        gateway(FakeProvider()).parse_webhook(body, FORM, now=NOW)
