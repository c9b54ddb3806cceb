"""The 2C2P gateway against a fake 2C2P that speaks signed JWT payloads as PGW v4.3 does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from pasar.payments.gateways.twoc2p import (
    TwoC2PGateway,
    TwoC2PRejectedAnswer,
    _claims_json,
    invoice_number,
)
from tests.payments.gateway_http import FakeProvider, answer

MERCHANT_ID = "JT01"
SECRET_KEY = "ECC4E54DBA738857B84A7EBC6B5DC7187B8DA68750E88AB53AAA41F548D6F2D9"
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
INVOICE_NO = invoice_number("attempt-7b0c9a1e")


def gateway(provider: FakeProvider, *, live: bool = False) -> TwoC2PGateway:
    return TwoC2PGateway(
        {"merchant_id": MERCHANT_ID, "secret_key": SECRET_KEY}, http=provider.client, live=live
    )


def signed(claims: dict[str, Any], *, key: str = SECRET_KEY) -> dict[str, str]:
    return {"payload": jwt.encode(claims, key, algorithm="HS256")}


def sent_claims(request: httpx.Request) -> dict[str, Any]:
    """What the gateway signed, read the way 2C2P would: verify, then decode exactly."""
    token = json.loads(request.content)["payload"]
    payload = jwt.api_jws.decode_complete(token, SECRET_KEY, algorithms=["HS256"])["payload"]
    claims: dict[str, Any] = json.loads(payload, parse_float=Decimal)
    return claims


def charge_request(*methods: Method, amount: str = "12.34") -> ChargeRequest:
    return ChargeRequest(
        payment_id="6f1c1f0e-8a2d-4b7e-9d3a-1f2e3d4c5b6a",
        reference="SO-000123",
        amount=Decimal(amount),
        currency="SGD",
        expires_at=datetime(2026, 11, 28, 10, 30, tzinfo=UTC),
        description="Order SO-000123 at Kopi Test",
        methods=methods or (Method.CARD, Method.PAYNOW),
        idempotency_key="attempt-7b0c9a1e",
        webhook_url="https://shop.example/payments/webhooks/twoc2p",
        return_url="https://shop.example/orders/SO-000123",
    )


TOKEN_ANSWER = {
    "webPaymentUrl": "https://sandbox-pgw-ui.2c2p.com/payment/4.3/#/token/kSAops9Zwhos8hSTSeLTUa",
    "paymentToken": "kSAops9Zwhos8hSTSeLTUajqpG9FvXPBaCUZJYcqWPk6HBVwGDWuBKZLRkqc0ZB1dtfLH30",
    "respCode": "0000",
    "respDesc": "Success",
}


def inquiry_answer(code: str, **fields: Any) -> dict[str, Any]:
    return {
        "merchantID": MERCHANT_ID,
        "invoiceNo": INVOICE_NO,
        "amount": 12.34,
        "currencyCode": "SGD",
        "transactionDateTime": "20261128180512",
        "agentCode": "OCBC",
        "channelCode": "VI",
        "approvalCode": "717282",
        "referenceNo": "3695214",
        "tranRef": "4227443",
        "accountNo": "411111XXXXXX1111",
        "respCode": code,
        "respDesc": "Success" if code == "0000" else "Declined",
        **fields,
    }


def test_gateway_satisfies_the_protocol() -> None:
    implementation: Gateway = gateway(FakeProvider())
    assert implementation.name == "twoc2p"
    assert [field.name for field in implementation.credential_fields] == [
        "merchant_id",
        "secret_key",
    ]


# --- create_charge -------------------------------------------------------------------------


def test_create_sends_a_signed_payment_token_request() -> None:
    provider = FakeProvider(answer(200, signed(TOKEN_ANSWER)))

    result = gateway(provider).create_charge(charge_request())

    sent = provider.last
    assert sent.method == "POST"
    assert str(sent.url) == "https://sandbox-pgw.2c2p.com/payment/4.3/paymentToken"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent_claims(sent) == {
        "merchantID": MERCHANT_ID,
        "invoiceNo": INVOICE_NO,
        "description": "Order SO-000123 at Kopi Test",
        "amount": Decimal("12.34"),
        "currencyCode": "SGD",
        "paymentChannel": ["CC", "QR"],
        "frontendReturnUrl": "https://shop.example/orders/SO-000123",
        "backendReturnUrl": "https://shop.example/payments/webhooks/twoc2p",
    }
    assert result.provider_reference == INVOICE_NO
    assert result.status == ChargeStatus.PENDING
    assert result.checkout_url == TOKEN_ANSWER["webPaymentUrl"]
    assert result.raw["paymentToken"] == TOKEN_ANSWER["paymentToken"]


def test_live_mode_uses_the_live_host() -> None:
    provider = FakeProvider(answer(200, signed(TOKEN_ANSWER)))
    gateway(provider, live=True).create_charge(charge_request())
    assert str(provider.last.url) == "https://pgw.2c2p.com/payment/4.3/paymentToken"


def test_the_invoice_number_is_alphanumeric_and_repeats_on_a_retry() -> None:
    assert INVOICE_NO.isalnum()
    assert len(INVOICE_NO) <= 50
    assert invoice_number("attempt-7b0c9a1e") == INVOICE_NO
    assert invoice_number("attempt-7b0c9a1f") != INVOICE_NO


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2))
def test_the_amount_is_signed_as_an_exact_json_number(amount: Decimal) -> None:
    body = _claims_json({"merchantID": MERCHANT_ID}, amount)
    assert json.loads(body, parse_float=Decimal)["amount"] == amount
    assert json.loads(body)["merchantID"] == MERCHANT_ID
    assert b'"amount":"' not in body


def test_a_refused_token_request_is_rejected_with_2c2ps_reason() -> None:
    refusal = {"respCode": "9015", "respDesc": "Existing invoice number."}
    with pytest.raises(GatewayRejected) as caught:
        gateway(FakeProvider(answer(200, signed(refusal)))).create_charge(charge_request())
    assert caught.value.raw == refusal
    assert "Existing invoice number." in caught.value.message


def test_an_unsigned_answer_is_only_read_as_a_refusal() -> None:
    unsigned = {"respCode": "9042", "respDesc": "Invalid signature."}
    with pytest.raises(GatewayRejected) as caught:
        gateway(FakeProvider(answer(200, unsigned))).create_charge(charge_request())
    assert caught.value.raw == unsigned


def test_an_unsigned_success_is_not_believed() -> None:
    with pytest.raises(GatewayRejected):
        gateway(FakeProvider(answer(200, TOKEN_ANSWER))).create_charge(charge_request())


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode(TOKEN_ANSWER, "another-merchants-secret-key-0123456789", algorithm="HS256"),
        jwt.encode(TOKEN_ANSWER, SECRET_KEY, algorithm="HS512"),
        jwt.encode(TOKEN_ANSWER, "", algorithm="none"),
        "not.a.token",
    ],
)
def test_an_answer_that_fails_verification_is_rejected(token: str) -> None:
    with pytest.raises(TwoC2PRejectedAnswer):
        gateway(FakeProvider(answer(200, {"payload": token}))).create_charge(charge_request())


def test_methods_2c2p_does_not_offer_are_refused_without_a_call() -> None:
    provider = FakeProvider()
    with pytest.raises(GatewayRejected):
        gateway(provider).create_charge(charge_request(Method.GRABPAY))
    assert provider.requests == []


# --- inquire -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("0000", ChargeStatus.CAPTURED),
        ("0001", ChargeStatus.PENDING),
        ("2001", ChargeStatus.PENDING),
        ("2002", ChargeStatus.PENDING),
        ("0003", ChargeStatus.CANCELLED),
        ("4005", ChargeStatus.FAILED),
        ("2003", ChargeStatus.FAILED),
    ],
)
def test_inquire_maps_the_response_code(code: str, status: ChargeStatus) -> None:
    provider = FakeProvider(answer(200, signed(inquiry_answer(code))))

    result = gateway(provider).inquire(INVOICE_NO)

    assert str(provider.last.url) == "https://sandbox-pgw.2c2p.com/payment/4.3/paymentInquiry"
    assert sent_claims(provider.last) == {
        "merchantID": MERCHANT_ID,
        "invoiceNo": INVOICE_NO,
        "locale": "en",
    }
    assert result.provider_reference == INVOICE_NO
    assert result.status == status
    assert result.amount == (Decimal("12.34") if status == ChargeStatus.CAPTURED else None)


# --- refund --------------------------------------------------------------------------------


def test_refunds_are_left_to_the_2c2p_portal() -> None:
    provider = FakeProvider()
    request = RefundRequest(
        provider_reference=INVOICE_NO,
        amount=Decimal("5.00"),
        currency="SGD",
        idempotency_key="refund-2f9c",
    )
    with pytest.raises(GatewayRejected, match="2C2P portal"):
        gateway(provider).refund(request)
    assert provider.requests == []


# --- HTTP failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (httpx.ReadTimeout("timed out"), GatewayUnavailable),
        (httpx.ConnectError("connection reset"), GatewayUnavailable),
        (httpx.Response(500, text="Internal Server Error"), GatewayUnavailable),
        (answer(429, {"respCode": "9999", "respDesc": "Too many requests"}), GatewayUnavailable),
        (answer(401, {"respCode": "9042", "respDesc": "Unauthorised"}), GatewayCredentialsInvalid),
        (answer(400, {"respCode": "9005", "respDesc": "Invalid request"}), GatewayRejected),
    ],
)
def test_http_failures_map_to_gateway_errors(
    reply: httpx.Response | Exception, error: type[Exception]
) -> None:
    with pytest.raises(error):
        gateway(FakeProvider(reply)).create_charge(charge_request())


# --- backend notification ------------------------------------------------------------------


def notification(code: str, *, key: str = SECRET_KEY, **fields: Any) -> bytes:
    return json.dumps(signed(inquiry_answer(code, **fields), key=key)).encode()


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("0000", EventKind.CAPTURED),
        ("0001", EventKind.IGNORED),
        ("2001", EventKind.IGNORED),
        ("0003", EventKind.CANCELLED),
        ("4051", EventKind.FAILED),
    ],
)
def test_a_notification_maps_the_response_code(code: str, kind: EventKind) -> None:
    event = gateway(FakeProvider()).parse_webhook(notification(code), {}, now=NOW)

    assert event.kind == kind
    assert event.provider_reference == INVOICE_NO
    assert event.event_id == f"{INVOICE_NO}:{code}:4227443"
    assert event.amount == (Decimal("12.34") if kind == EventKind.CAPTURED else None)
    assert event.currency == "SGD"


def test_a_resent_notification_has_the_same_event_id() -> None:
    parse = gateway(FakeProvider()).parse_webhook
    assert (
        parse(notification("0000"), {}, now=NOW).event_id
        == parse(notification("0000"), {}, now=NOW).event_id
    )
    assert (
        parse(notification("0001"), {}, now=NOW).event_id
        != parse(notification("0000"), {}, now=NOW).event_id
    )


def test_a_notification_signed_with_another_key_is_refused() -> None:
    body = notification("0000", key="another-merchants-secret-key-0123456789")
    with pytest.raises(InvalidSignature):
        gateway(FakeProvider()).parse_webhook(body, {}, now=NOW)


def test_a_tampered_notification_is_refused() -> None:
    token = json.loads(notification("4051"))["payload"]
    header, _, signature = token.split(".")
    forged = jwt.utils.base64url_encode(json.dumps(inquiry_answer("0000")).encode()).decode()
    body = json.dumps({"payload": f"{header}.{forged}.{signature}"}).encode()
    with pytest.raises(InvalidSignature):
        gateway(FakeProvider()).parse_webhook(body, {}, now=NOW)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"payload": 1}', b'{"payload": "not.a.token"}', b"{}"],
)
def test_an_unreadable_notification_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        gateway(FakeProvider()).parse_webhook(body, {}, now=NOW)


def test_a_notification_for_another_merchant_is_refused() -> None:
    with pytest.raises(MalformedWebhook):
        gateway(FakeProvider()).parse_webhook(notification("0000", merchantID="JT02"), {}, now=NOW)
