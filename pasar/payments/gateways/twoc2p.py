"""2C2P (regional gateway, the fallback) over its PGW v4.3 API.

Facts used, from developer.2c2p.com (PGW v4.3):
- Hosts `sandbox-pgw.2c2p.com` and `pgw.2c2p.com`, paths `/payment/4.3/paymentToken` and
  `/payment/4.3/paymentInquiry`. A request body is `{"payload": "<JWT>"}`, the JWT (HS256,
  keyed with the merchant's secret key) carrying the fields; the answer is the same shape and
  is verified with the same key before anything in it is believed.
- Payment token fields: `merchantID`, `invoiceNo` (up to 50 alphanumerics, unique per
  transaction), `description`, `amount` (a JSON number), `currencyCode`, `paymentChannel`
  (`CC` cards; `QR` the QR group, which carries PayNow in Singapore), `frontendReturnUrl`,
  `backendReturnUrl`; the answer has `webPaymentUrl`, `paymentToken`, `respCode`, `respDesc`.
- Inquiry by `merchantID` + `invoiceNo`; the answer and the backend notification (a POST of
  `{"payload": "<JWT>"}` to `backendReturnUrl`) carry `invoiceNo`, `amount`, `currencyCode`,
  `tranRef`, `respCode`, `respDesc`.
- Response codes: 0000 successful, 0001 pending, 0003 cancelled, 2001 in progress, 2002 not
  found, others failed or declined.

Not confirmed from the documentation, or left out:
- Refunds go through 2C2P's separate maintenance API (XML payloads, JWE-encrypted and signed
  with certificates); that cannot be built faithfully from what is published, so `refund`
  raises and the shop refunds in the 2C2P portal.
- The payment token's expiry field; the token's own default expiry applies.
- The time zone of `transactionDateTime`; it is not turned into `occurred_at`.
- Whether 2C2P signs its error answers; an unsigned answer is only ever read as a refusal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import jwt

from pasar.core.money import as_text, provider_amount
from pasar.payments.gateways import _http
from pasar.payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CredentialField,
    EventKind,
    GatewayName,
    GatewayRejected,
    InvalidSignature,
    MalformedWebhook,
    Method,
    RefundRequest,
    RefundResult,
    WebhookEvent,
)

SANDBOX_BASE = "https://sandbox-pgw.2c2p.com/payment/4.3/"
LIVE_BASE = "https://pgw.2c2p.com/payment/4.3/"
PROVIDER = "2C2P"
ALGORITHM = "HS256"

CHANNELS = {Method.CARD: "CC", Method.PAYNOW: "QR"}
SUCCESS = "0000"
PENDING_CODES = frozenset({"0001", "2001"})
CANCELLED = "0003"
NOT_FOUND = "2002"


class TwoC2PRejectedAnswer(GatewayRejected):
    """2C2P's answer failed signature verification: nothing in it is believed."""


class TwoC2PGateway:
    name: GatewayName = GatewayName.TWOC2P
    methods: tuple[Method, ...] = (Method.CARD, Method.PAYNOW)
    credential_fields: tuple[CredentialField, ...] = (
        CredentialField(name="merchant_id", label="Merchant ID", secret=False),
        CredentialField(
            name="secret_key",
            label="Secret key",
            help_text="2C2P merchant portal > Options > Security; signs every message.",
        ),
    )

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        http: httpx.Client | None = None,
        live: bool = False,
    ) -> None:
        self._merchant_id = credentials["merchant_id"]
        self._secret_key = credentials["secret_key"]
        # Made on the first call to the provider: verifying a webhook needs no client.
        self._given_http = http
        self._base = LIVE_BASE if live else SANDBOX_BASE

    def _client(self) -> httpx.Client:
        return self._given_http or _http.shared_client(PROVIDER)

    def create_charge(self, request: ChargeRequest) -> ChargeResult:
        channels = [CHANNELS[method] for method in request.methods if method in CHANNELS]
        if not channels:
            raise GatewayRejected(f"{PROVIDER} offers none of: {', '.join(request.methods)}")
        invoice_no = invoice_number(request.idempotency_key)
        fields = {
            "merchantID": self._merchant_id,
            "invoiceNo": invoice_no,
            "description": request.description[:250],
            "currencyCode": request.currency,
            "paymentChannel": channels,
            "frontendReturnUrl": request.return_url,
            "backendReturnUrl": request.webhook_url,
        }
        answer = self._call("paymentToken", fields, amount=request.amount)
        if answer.get("respCode") != SUCCESS:
            raise GatewayRejected(_refusal(answer), raw=answer)
        return ChargeResult(
            provider_reference=invoice_no,
            status=ChargeStatus.PENDING,
            checkout_url=str(answer.get("webPaymentUrl") or ""),
            raw=answer,
        )

    def inquire(self, provider_reference: str) -> ChargeResult:
        fields = {"merchantID": self._merchant_id, "invoiceNo": provider_reference, "locale": "en"}
        answer = self._call("paymentInquiry", fields)
        code = str(answer.get("respCode", ""))
        if code == SUCCESS:
            status = ChargeStatus.CAPTURED
        elif code in PENDING_CODES or code == NOT_FOUND:
            # "Not found" until the shopper has paid on the hosted page.
            status = ChargeStatus.PENDING
        elif code == CANCELLED:
            status = ChargeStatus.CANCELLED
        else:
            status = ChargeStatus.FAILED
        return ChargeResult(
            provider_reference=provider_reference,
            status=status,
            amount=provider_amount(answer.get("amount"))
            if status == ChargeStatus.CAPTURED
            else None,
            raw=answer,
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        raise GatewayRejected("2C2P refunds are made in the 2C2P portal")

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> WebhookEvent:
        try:
            envelope = json.loads(body)
        except ValueError as exc:
            raise MalformedWebhook("the notification body is not JSON") from exc
        token = envelope.get("payload") if isinstance(envelope, dict) else None
        if not isinstance(token, str):
            raise MalformedWebhook('the notification has no "payload" token')
        try:
            claims = self._verified_claims(token)
        except jwt.InvalidSignatureError as exc:
            raise InvalidSignature("the 2C2P notification signature does not match") from exc
        except (jwt.InvalidTokenError, ValueError) as exc:
            raise MalformedWebhook("the 2C2P notification token cannot be read") from exc
        if claims.get("merchantID") != self._merchant_id:
            raise MalformedWebhook("the notification is for another merchant")

        invoice_no = str(claims.get("invoiceNo", ""))
        code = str(claims.get("respCode", ""))
        if code == SUCCESS:
            kind = EventKind.CAPTURED
        elif code in PENDING_CODES:
            kind = EventKind.IGNORED
        elif code == CANCELLED:
            kind = EventKind.CANCELLED
        else:
            kind = EventKind.FAILED
        return WebhookEvent(
            # One notification per transaction result: a resend repeats invoice, code and
            # reference; a later result for the same invoice (pending, then paid) differs.
            event_id=f"{invoice_no}:{code}:{claims.get('tranRef', '')}",
            kind=kind,
            provider_reference=invoice_no,
            amount=provider_amount(claims.get("amount")) if kind == EventKind.CAPTURED else None,
            currency=str(claims.get("currencyCode") or "").upper(),
            raw=claims,
        )

    def _call(
        self, path: str, fields: Mapping[str, Any], *, amount: Decimal | None = None
    ) -> dict[str, Any]:
        token = jwt.api_jws.encode(
            _claims_json(fields, amount), self._secret_key, algorithm=ALGORITHM
        )
        answer = _http.call(
            self._client(),
            "POST",
            f"{self._base}{path}",
            provider=PROVIDER,
            json={"payload": token},
        )
        signed = answer.get("payload")
        if not isinstance(signed, str):
            # An unsigned answer is 2C2P refusing the request (a bad signature of ours, an
            # unknown merchant): it is read only to say why, never as a success.
            raise GatewayRejected(_refusal(answer), raw=answer)
        try:
            return self._verified_claims(signed)
        except (jwt.InvalidTokenError, ValueError) as exc:
            raise TwoC2PRejectedAnswer(
                f"{PROVIDER}'s answer failed signature verification", raw=answer
            ) from exc

    def _verified_claims(self, token: str) -> dict[str, Any]:
        # Only HS256 is accepted, so a token cannot choose a weaker algorithm for itself.
        verified = jwt.api_jws.decode_complete(token, self._secret_key, algorithms=[ALGORITHM])
        claims = json.loads(verified["payload"], parse_float=Decimal)
        if not isinstance(claims, dict):
            raise ValueError("the token's payload is not a JSON object")
        return claims


def invoice_number(idempotency_key: str) -> str:
    """2C2P's invoice number for one attempt: alphanumeric, short, and the same on a retry.

    2C2P wants up to 50 alphanumerics unique per transaction; the whole SHA-256 digest of the
    attempt's idempotency key written in base 36 is both (at most 50 characters), whatever
    characters the key holds, and nothing of it is cut away.
    """
    number = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest())
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
    return digits or "0"


def _claims_json(fields: Mapping[str, Any], amount: Decimal | None) -> bytes:
    """The JWT body, with `amount` written as an exact JSON number.

    `json` writes a Decimal only through float; appending the digits keeps them exact.
    """
    text = json.dumps(dict(fields), separators=(",", ":"))
    if amount is None:
        return text.encode()
    separator = "," if fields else ""
    return f'{text[:-1]}{separator}"amount":{as_text(amount)}}}'.encode()


def _refusal(answer: Mapping[str, Any]) -> str:
    return f"{PROVIDER} refused the request ({answer.get('respCode', 'no code')})" + (
        f": {answer['respDesc']}" if answer.get("respDesc") else ""
    )
