"""HitPay (Singapore: PayNow, cards, GrabPay) over its v1 REST API.

Facts used, from docs.hitpayapp.com and HitPay's published API definition:
- Requests are form-encoded with `X-BUSINESS-API-KEY` and `X-Requested-With: XMLHttpRequest`;
  sandbox `https://api.sandbox.hit-pay.com/v1/`, live `https://api.hit-pay.com/v1/`.
- `POST payment-requests` takes `amount` ("12.34"), `currency`, `payment_methods[]`,
  `reference_number`, `purpose`, `redirect_url`, `webhook`, `expiry_date` (Singapore time,
  `YYYY-MM-DD HH:mm:ss`) and answers `id`, `url`, `status` (pending, completed, failed,
  expired, canceled, inactive). `GET payment-requests/{id}` adds `payments[]` (each with `id`,
  `status`, `amount`).
- `POST refund` takes the *payment's* id (`payment_id`, not the payment request's) and
  `amount`; it answers `id` and `status`.
- Event webhooks (v2): JSON body, `Hitpay-Signature` = hex HMAC-SHA256 of the raw body keyed
  with the salt; the event is named by headers `Hitpay-Event-Object` (payment_request, charge,
  ...) and `Hitpay-Event-Type` (completed, failed, created, updated, ...).
- The `webhook` URL given to a payment request receives the older form-encoded webhook
  (`payment_id`, `payment_request_id`, `reference_number`, `amount`, `currency`, `status`,
  `hmac`), `hmac` being HMAC-SHA256 over the other fields sorted by name and concatenated as
  name + value. Both formats are accepted.

Not confirmed from the documentation:
- The field that carries the PayNow QR payload when `generate_qr` is sent (read here as
  `qr_code_data.qr_code`); without it the shopper uses the hosted `url`.
- Whether the older webhook is signed with the same salt as event webhooks (HitPay shows one
  salt per API key and one per event-webhook endpoint); one `salt` is configured here.
- How a `charge` event names its payment request (read here as `payment_request_id`); a
  charge event that names none is verified but ignored.
- The GrabPay method code (`grabpay_direct` in HitPay's API definition, `grabpay` in older
  guides).
- HitPay documents no idempotency key: a repeated create makes a second payment request and
  a repeated refund may refund twice, so callers must not blindly retry those.
- Neither webhook format carries a timestamp, so a replay cannot be told by age; the
  deduplication key below makes a replay harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

import httpx

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

SANDBOX_BASE = "https://api.sandbox.hit-pay.com/v1/"
LIVE_BASE = "https://api.hit-pay.com/v1/"
PROVIDER = "HitPay"
SINGAPORE = ZoneInfo("Asia/Singapore")

METHOD_CODES = {
    Method.PAYNOW: "paynow_online",
    Method.CARD: "card",
    Method.GRABPAY: "grabpay_direct",
}
STATUSES = {
    "pending": ChargeStatus.PENDING,
    "completed": ChargeStatus.CAPTURED,
    "failed": ChargeStatus.FAILED,
    "expired": ChargeStatus.CANCELLED,
    "canceled": ChargeStatus.CANCELLED,
    "inactive": ChargeStatus.CANCELLED,
}
REFUNDABLE_PAYMENT_STATUSES = frozenset({"succeeded", "partially_refunded"})
REFUNDED_CHARGE_STATUSES = frozenset({"refunded", "partially_refunded"})


class HitPayGateway:
    name: GatewayName = GatewayName.HITPAY
    methods: tuple[Method, ...] = (Method.PAYNOW, Method.CARD, Method.GRABPAY)
    credential_fields: tuple[CredentialField, ...] = (
        CredentialField(
            name="api_key",
            label="API key",
            help_text="HitPay Dashboard > Settings > Payment Gateway > API Keys.",
        ),
        CredentialField(
            name="salt",
            label="Salt",
            help_text="Shown with the API key; HitPay signs its webhooks with it.",
        ),
    )

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        http: httpx.Client | None = None,
        live: bool = False,
    ) -> None:
        self._api_key = credentials["api_key"]
        self._salt = credentials["salt"]
        # Made on the first call to the provider: verifying a webhook needs no client.
        self._given_http = http
        self._base = LIVE_BASE if live else SANDBOX_BASE

    def _client(self) -> httpx.Client:
        return self._given_http or _http.shared_client(PROVIDER)

    def create_charge(self, request: ChargeRequest) -> ChargeResult:
        codes = [METHOD_CODES[method] for method in request.methods if method in METHOD_CODES]
        if not codes:
            raise GatewayRejected(f"{PROVIDER} offers none of: {', '.join(request.methods)}")
        expiry = request.expires_at.astimezone(SINGAPORE).strftime("%Y-%m-%d %H:%M:%S")
        fields: dict[str, str | list[str]] = {
            "amount": as_text(request.amount),
            "currency": request.currency,
            "payment_methods[]": codes,
            "reference_number": request.reference,
            "purpose": request.description[:255],
            "redirect_url": request.return_url,
            "webhook": request.webhook_url,
            "expiry_date": expiry,
        }
        if codes == [METHOD_CODES[Method.PAYNOW]]:
            # HitPay embeds a QR only for a QR-only request.
            fields["generate_qr"] = "true"
        answer = self._call("POST", "payment-requests", data=fields)
        result = _charge_result(answer)
        qr = answer.get("qr_code_data")
        if isinstance(qr, Mapping) and isinstance(qr.get("qr_code"), str):
            return replace(result, paynow_payload=qr["qr_code"])
        return result

    def inquire(self, provider_reference: str) -> ChargeResult:
        return _charge_result(self._payment_request(provider_reference))

    def refund(self, request: RefundRequest) -> RefundResult:
        payment_request = self._payment_request(request.provider_reference)
        payments = payment_request.get("payments") or []
        paid = [
            payment
            for payment in payments
            if isinstance(payment, Mapping) and payment.get("status") in REFUNDABLE_PAYMENT_STATUSES
        ]
        if not paid:
            raise GatewayRejected(
                f"{PROVIDER} shows no captured payment on this payment request",
                raw=payment_request,
            )
        answer = self._call(
            "POST",
            "refund",
            data={"payment_id": str(paid[0]["id"]), "amount": as_text(request.amount)},
        )
        return RefundResult(
            provider_refund_id=str(answer.get("id", "")),
            succeeded=answer.get("status") == "succeeded",
            raw=answer,
        )

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> WebhookEvent:
        signature = _http.header(headers, "Hitpay-Signature")
        if signature:
            self._verify(body, signature)
            return _event_webhook(body, headers)
        return self._form_webhook(body)

    def _verify(self, message: bytes, signature: str) -> None:
        expected = hmac.new(self._salt.encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise InvalidSignature("the HitPay signature does not match the body")

    def _form_webhook(self, body: bytes) -> WebhookEvent:
        try:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidSignature("no Hitpay-Signature header and no signed form body") from exc
        signature = fields.pop("hmac", "")
        if not signature:
            raise InvalidSignature("no Hitpay-Signature header and no hmac field")
        signed = "".join(f"{key}{fields[key]}" for key in sorted(fields))
        self._verify(signed.encode(), signature)

        status = fields.get("status", "")
        kinds = {"completed": EventKind.CAPTURED, "failed": EventKind.FAILED}
        # The payment's id with its status names one state of one payment: a redelivery
        # repeats both, while a real change (failed, then completed) gives a new key.
        return WebhookEvent(
            event_id=f"payment:{fields.get('payment_id', '')}:{status}",
            kind=kinds.get(status, EventKind.IGNORED),
            provider_reference=fields.get("payment_request_id", ""),
            amount=provider_amount(fields.get("amount")),
            currency=fields.get("currency", "").upper(),
            raw=fields,
        )

    def _payment_request(self, provider_reference: str) -> dict[str, Any]:
        return self._call("GET", f"payment-requests/{quote(provider_reference, safe='')}")

    def _call(self, method: str, path: str, **request: Any) -> dict[str, Any]:
        headers = {
            "X-BUSINESS-API-KEY": self._api_key,
            "X-Requested-With": "XMLHttpRequest",
            "Accept": "application/json",
        }
        return _http.call(
            self._client(),
            method,
            f"{self._base}{path}",
            provider=PROVIDER,
            headers=headers,
            **request,
        )


def _charge_result(answer: Mapping[str, Any]) -> ChargeResult:
    status = STATUSES.get(str(answer.get("status")), ChargeStatus.PENDING)
    return ChargeResult(
        provider_reference=str(answer.get("id", "")),
        status=status,
        checkout_url=str(answer.get("url") or ""),
        amount=provider_amount(answer.get("amount")) if status == ChargeStatus.CAPTURED else None,
        raw=answer,
    )


def _event_webhook(body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
    try:
        obj = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise MalformedWebhook("the webhook body is not JSON") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise MalformedWebhook("the webhook body is not a HitPay object")
    event_object = _http.header(headers, "Hitpay-Event-Object").strip().lower()
    event_type = _http.header(headers, "Hitpay-Event-Type").strip().lower()
    event = f"{event_object}.{event_type}"
    status = str(obj.get("status", ""))

    # HitPay sends no event id. The object's id, the event and the object's state (status and,
    # for charges, the refunded total) name one notification: a retry repeats them exactly,
    # while a new state of the same object (a second partial refund) changes the key.
    event_id = f"{event}:{obj['id']}:{status}:{obj.get('refunded_amount', '')}"
    common: dict[str, Any] = {
        "event_id": event_id,
        "currency": str(obj.get("currency") or "").upper(),
        "raw": obj,
    }

    if event_object == "payment_request":
        kinds = {
            "payment_request.completed": EventKind.CAPTURED,
            "payment_request.failed": EventKind.FAILED,
        }
        kind = kinds.get(event, EventKind.IGNORED)
        return WebhookEvent(
            kind=kind,
            provider_reference=obj["id"],
            amount=provider_amount(obj.get("amount")) if kind == EventKind.CAPTURED else None,
            **common,
        )

    payment_request_id = obj.get("payment_request_id")
    if event_object == "charge" and isinstance(payment_request_id, str) and payment_request_id:
        if event == "charge.created" and status == "succeeded":
            return WebhookEvent(
                kind=EventKind.CAPTURED,
                provider_reference=payment_request_id,
                amount=provider_amount(obj.get("amount")),
                **common,
            )
        if status in REFUNDED_CHARGE_STATUSES:
            # The charge's running total of refunds, not the amount of the latest refund.
            return WebhookEvent(
                kind=EventKind.REFUNDED,
                provider_reference=payment_request_id,
                amount=provider_amount(obj.get("refunded_amount")),
                amount_is_refunded_total=True,
                **common,
            )
    return WebhookEvent(kind=EventKind.IGNORED, provider_reference="", **common)
