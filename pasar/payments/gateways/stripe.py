"""Stripe over its REST API (PaymentIntents), with plain httpx: the `stripe` package is a test
dependency only.

Facts used, from Stripe's API reference and the official Python library:
- `POST /v1/payment_intents` is form-encoded, amounts in the currency's smallest unit (SGD
  cents), currency lower-case; `confirm=true` with `payment_method_data[type]=paynow` confirms
  on the server and answers `requires_action` with `next_action.paynow_display_qr_code`
  (`data`, `hosted_instructions_url`, `image_url_png`, `image_url_svg`).
- `Idempotency-Key` on a POST makes Stripe answer a repeat with the first result.
- `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`: HMAC-SHA256 of `"<t>.<raw body>"` keyed
  with the endpoint secret; several `v1` appear while a secret is rolled.

Not confirmed from the documentation:
- How long a Stripe PayNow QR stays payable; the payment's own expiry is not sent to Stripe.
- A card PaymentIntent is created unconfirmed: the shopper's browser confirms it with
  Stripe.js and the PaymentIntent's `client_secret`, which `ChargeResult` has no field for;
  it is in `raw["client_secret"]`.
- `charge.refunded` names no single refund in current API versions (the charge's `refunds`
  list is no longer included) and carries the cumulative `amount_refunded`; `refund.updated`
  names the refund and its own amount.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from pasar.core.money import from_cents, to_cents
from pasar.payments.gateways import _http
from pasar.payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CredentialField,
    EventKind,
    GatewayCredentialsInvalid,
    GatewayName,
    GatewayRejected,
    InvalidSignature,
    MalformedWebhook,
    Method,
    RefundRequest,
    RefundResult,
    StaleWebhook,
    WebhookEvent,
)

API_BASE = "https://api.stripe.com/v1"
PROVIDER = "Stripe"

# Stripe's own library uses the same tolerance; we also refuse timestamps this far ahead.
SIGNATURE_TOLERANCE_SECONDS = 300

STATUSES = {
    "requires_payment_method": ChargeStatus.PENDING,
    "requires_confirmation": ChargeStatus.PENDING,
    "requires_action": ChargeStatus.PENDING,
    "processing": ChargeStatus.PENDING,
    "requires_capture": ChargeStatus.AUTHORISED,
    "succeeded": ChargeStatus.CAPTURED,
    "canceled": ChargeStatus.CANCELLED,
}

# Event type -> what it means, and which PaymentIntent field holds its amount (if any).
INTENT_EVENTS: dict[str, tuple[EventKind, str]] = {
    "payment_intent.succeeded": (EventKind.CAPTURED, "amount_received"),
    "payment_intent.payment_failed": (EventKind.FAILED, ""),
    "payment_intent.canceled": (EventKind.CANCELLED, ""),
    "payment_intent.amount_capturable_updated": (EventKind.AUTHORISED, "amount_capturable"),
}
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)


class StripeGateway:
    name: GatewayName = GatewayName.STRIPE
    methods: tuple[Method, ...] = (Method.CARD, Method.PAYNOW)
    credential_fields: tuple[CredentialField, ...] = (
        CredentialField(
            name="secret_key",
            label="Secret key",
            help_text="Stripe Dashboard > Developers > API keys; starts with sk_test_ or sk_live_.",
        ),
        CredentialField(
            name="webhook_secret",
            label="Webhook signing secret",
            help_text="Shown on the webhook endpoint's page in the Dashboard; starts with whsec_.",
        ),
    )

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        http: httpx.Client | None = None,
        live: bool = False,
    ) -> None:
        self._secret_key = credentials["secret_key"]
        self._webhook_secret = credentials["webhook_secret"]
        # Made on the first call to the provider: verifying a webhook needs no client.
        self._given_http = http
        self._live = live

    def _client(self) -> httpx.Client:
        return self._given_http or _http.shared_client(PROVIDER)

    def create_charge(self, request: ChargeRequest) -> ChargeResult:
        methods = [method for method in request.methods if method in self.methods]
        if not methods:
            raise GatewayRejected(f"{PROVIDER} offers none of: {', '.join(request.methods)}")
        fields: dict[str, str | list[str]] = {
            "amount": str(to_cents(request.amount)),
            "currency": request.currency.lower(),
            "payment_method_types[]": [method.value for method in methods],
            "description": request.description,
            "metadata[payment_id]": request.payment_id,
            "metadata[reference]": request.reference,
        }
        if Method.PAYNOW in methods:
            # Confirming on the server is what makes Stripe produce the QR at once.
            fields["confirm"] = "true"
            fields["payment_method_data[type]"] = "paynow"
        intent = self._post("/payment_intents", fields, idempotency_key=request.idempotency_key)
        return _charge_result(intent)

    def inquire(self, provider_reference: str) -> ChargeResult:
        intent = _http.call(
            self._client(),
            "GET",
            f"{API_BASE}/payment_intents/{quote(provider_reference, safe='')}",
            provider=PROVIDER,
            headers=self._auth_headers(),
        )
        return _charge_result(intent)

    def refund(self, request: RefundRequest) -> RefundResult:
        fields: dict[str, str | list[str]] = {
            "payment_intent": request.provider_reference,
            "amount": str(to_cents(request.amount)),
        }
        if request.reason:
            fields["metadata[reason]"] = request.reason
        refund = self._post("/refunds", fields, idempotency_key=request.idempotency_key)
        status = refund.get("status")
        if status in ("failed", "canceled"):
            raise GatewayRejected(f"{PROVIDER} refused the refund ({status})", raw=refund)
        return RefundResult(
            provider_refund_id=str(refund.get("id", "")),
            succeeded=status == "succeeded",
            raw=refund,
        )

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> WebhookEvent:
        verify_signature(
            body, _http.header(headers, "Stripe-Signature"), self._webhook_secret, now=now
        )
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise MalformedWebhook("the webhook body is not JSON") from exc
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise MalformedWebhook("the webhook is not a Stripe event")
        data = event.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        if not isinstance(obj, dict):
            raise MalformedWebhook("the event has no data.object")
        return _webhook_event(event, obj)

    def _post(
        self, path: str, fields: Mapping[str, str | list[str]], *, idempotency_key: str
    ) -> dict[str, Any]:
        return _http.call(
            self._client(),
            "POST",
            f"{API_BASE}{path}",
            provider=PROVIDER,
            headers={**self._auth_headers(), "Idempotency-Key": idempotency_key},
            data=fields,
        )

    def _auth_headers(self) -> dict[str, str]:
        # A test key in live mode (or the reverse) would take no money, or real money in a
        # demo: the shop must fix its settings before anything is sent.
        is_live_key = "_live_" in self._secret_key
        if is_live_key != self._live:
            mode = "live" if self._live else "test"
            raise GatewayCredentialsInvalid(f"the Stripe secret key is not a {mode}-mode key")
        return {"Authorization": f"Bearer {self._secret_key}"}


def verify_signature(body: bytes, signature_header: str, secret: str, *, now: datetime) -> None:
    """Raise unless one `v1` signature matches the raw body and its timestamp is recent."""
    if not signature_header:
        raise InvalidSignature("the Stripe-Signature header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in signature_header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("the Stripe-Signature header has no timestamp or no v1 signature")

    signed = str(timestamp).encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    # Every candidate is compared (no early exit) so timing reveals nothing about which matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise InvalidSignature("no Stripe signature matches the body")
    if abs(now.timestamp() - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise StaleWebhook("the Stripe signature timestamp is outside the tolerance")


def _charge_result(intent: Mapping[str, Any]) -> ChargeResult:
    status = STATUSES.get(str(intent.get("status")), ChargeStatus.PENDING)
    next_action = intent.get("next_action") or {}
    qr = next_action.get("paynow_display_qr_code") or {}
    return ChargeResult(
        provider_reference=str(intent.get("id", "")),
        status=status,
        checkout_url=str(qr.get("hosted_instructions_url") or ""),
        paynow_payload=str(qr.get("data") or ""),
        amount=_cents(intent, "amount_received") if status == ChargeStatus.CAPTURED else None,
        raw=intent,
    )


def _webhook_event(event: Mapping[str, Any], obj: Mapping[str, Any]) -> WebhookEvent:
    event_type = str(event.get("type", ""))
    created = event.get("created")
    base: dict[str, Any] = {
        "event_id": event["id"],
        "currency": str(obj.get("currency") or "").upper(),
        "occurred_at": datetime.fromtimestamp(created, UTC) if isinstance(created, int) else None,
        "raw": event,
    }
    if event_type in INTENT_EVENTS:
        kind, amount_field = INTENT_EVENTS[event_type]
        return WebhookEvent(
            kind=kind,
            provider_reference=_text(obj, "id"),
            amount=_cents(obj, amount_field) if amount_field else None,
            **base,
        )
    if event_type == "charge.refunded":
        # It carries the charge's running total and names no refund: acting on it would count
        # a refund twice. Each refund also arrives as refund.created/updated, which name it.
        return WebhookEvent(
            kind=EventKind.IGNORED,
            provider_reference=_text(obj, "payment_intent"),
            amount=_cents(obj, "amount_refunded"),
            **base,
        )
    if event_type in REFUND_EVENTS:
        refund_kinds = {"succeeded": EventKind.REFUNDED, "failed": EventKind.REFUND_FAILED}
        return WebhookEvent(
            kind=refund_kinds.get(str(obj.get("status")), EventKind.IGNORED),
            provider_reference=_text(obj, "payment_intent"),
            amount=_cents(obj, "amount"),
            provider_refund_id=_text(obj, "id"),
            **base,
        )
    if event_type == "charge.dispute.created":
        return WebhookEvent(
            kind=EventKind.DISPUTED,
            provider_reference=_text(obj, "payment_intent"),
            amount=_cents(obj, "amount"),
            **base,
        )
    return WebhookEvent(kind=EventKind.IGNORED, provider_reference="", **base)


def _cents(obj: Mapping[str, Any], key: str) -> Decimal | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return from_cents(value)


def _text(obj: Mapping[str, Any], key: str) -> str:
    """An id field, which Stripe sends as a string or, when expanded, as an object with an id."""
    value = obj.get(key)
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else ""
