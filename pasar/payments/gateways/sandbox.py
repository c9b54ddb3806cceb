"""The sandbox gateway: a provider that needs no credentials and moves no money.

It plays both sides. As a gateway it creates charges, refunds and verifies webhooks like the
others. As the provider, its checkout page (pasar.payments.views) shows the real PayNow QR
with "Pay" and "Fail" buttons; pressing one makes `SandboxProvider.notify` send a signed
webhook over HTTP to the shop's webhook URL, exactly as a real provider would.

Signature scheme (modelled on Stripe's): header `Sandbox-Signature: t=<unix seconds>,v1=<hex>`
where v1 is HMAC-SHA256 of "<t>.<raw body>" keyed with the account's signing secret; refused
more than 300 seconds from now.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import InvalidOperation
from typing import Any

import httpx
from django.conf import settings
from django.urls import reverse

from pasar.core.money import provider_amount
from pasar.core.tenant import current_company_id, tenant_context
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
    StaleWebhook,
    WebhookEvent,
)
from pasar.payments.gateways.paynow import PayNowQR, ProxyType

SIGNATURE_HEADER = "Sandbox-Signature"
TOLERANCE_SECONDS = 300
EVENT_TYPES = {
    "charge.succeeded": EventKind.CAPTURED,
    "charge.failed": EventKind.FAILED,
    "refund.succeeded": EventKind.REFUNDED,
}


def _company_id() -> int:
    company_id = current_company_id()
    if company_id is None:
        raise GatewayRejected("The sandbox works only for a company.")
    return company_id


def sign(body: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), "")


class SandboxGateway:
    name = GatewayName.SANDBOX
    methods = (Method.PAYNOW, Method.CARD)
    credential_fields = (
        CredentialField(
            "signing_secret",
            "Signing secret",
            help_text="Signs the sandbox's webhooks; any long random text.",
        ),
    )

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        http: httpx.Client | None = None,
        live: bool = False,
    ) -> None:
        self.secret = credentials.get("signing_secret", "")
        self.http = http

    # --- as a gateway ---------------------------------------------------------------------

    def create_charge(self, request: ChargeRequest) -> ChargeResult:
        from pasar.payments.models import SandboxCharge
        from pasar.tenancy.models import Company

        company_id = current_company_id()
        if company_id is None:
            raise GatewayRejected("The sandbox takes charges only for a company.")
        reference = "sbx_" + uuid.uuid4().hex
        # The provider's own database write, in its own short transaction: the shop calls
        # gateways with none open, and a real provider's write commits on its side too.
        with tenant_context(company_id):
            company = Company.objects.get(pk=company_id)
            payload = PayNowQR(
                proxy_type=ProxyType.UEN,
                proxy_value=request.paynow_uen or company.uen,
                amount=request.amount,
                expiry=request.expires_at,
                merchant_name=request.merchant_name or company.legal_name,
                reference=request.reference,
            ).payload()
            SandboxCharge.objects.create(
                company=company,
                provider_reference=reference,
                payment_public_id=uuid.UUID(request.payment_id),
                reference=request.reference,
                amount=request.amount,
                currency=request.currency,
                paynow_payload=payload,
                webhook_url=request.webhook_url,
                return_url=request.return_url,
                created_at=datetime.now(UTC),
            )
        origin = request.webhook_url.split("/webhooks/", 1)[0]
        path = reverse("payments:sandbox_checkout", args=[company.public_id, reference])
        return ChargeResult(
            provider_reference=reference,
            status=ChargeStatus.PENDING,
            checkout_url=origin + path,
            paynow_payload=payload,
            raw={"id": reference, "status": "pending", "amount": str(request.amount)},
        )

    def inquire(self, provider_reference: str) -> ChargeResult:
        from pasar.payments.models import SandboxCharge

        with tenant_context(_company_id()):
            charge = SandboxCharge.objects.filter(provider_reference=provider_reference).first()
        if charge is None:
            raise GatewayRejected("The sandbox has no such charge.")
        status = {
            "paid": ChargeStatus.CAPTURED,
            "failed": ChargeStatus.FAILED,
        }.get(charge.status, ChargeStatus.PENDING)
        return ChargeResult(
            provider_reference=provider_reference,
            status=status,
            amount=charge.amount if status == ChargeStatus.CAPTURED else None,
            raw={"id": provider_reference, "status": charge.status},
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        from pasar.payments.models import SandboxCharge

        with tenant_context(_company_id()):
            charge = (
                SandboxCharge.objects.select_for_update()
                .filter(provider_reference=request.provider_reference)
                .first()
            )
            if charge is None or charge.status != "paid":
                raise GatewayRejected("The sandbox has no paid charge to refund.")
            if charge.refunded_amount + request.amount > charge.amount:
                raise GatewayRejected("The sandbox refuses to refund more than was paid.")
            charge.refunded_amount += request.amount
            charge.save(update_fields=["refunded_amount"])
        refund_id = "sbx_re_" + uuid.uuid4().hex
        return RefundResult(
            provider_refund_id=refund_id,
            succeeded=True,
            raw={"id": refund_id, "status": "succeeded", "amount": str(request.amount)},
        )

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> WebhookEvent:
        self._verify(body, _header(headers, SIGNATURE_HEADER), now)
        try:
            event = json.loads(body)
            data = event["data"]
            kind = EVENT_TYPES.get(event["type"], EventKind.IGNORED)
            amount = provider_amount(data.get("amount"))
            if amount is None and data.get("amount") is not None:
                raise ValueError(f"{data['amount']!r} is not an amount")
            return WebhookEvent(
                event_id=str(event["id"]),
                kind=kind,
                provider_reference=str(data.get("charge", "")),
                payment_id=str(data.get("payment_id", "")),
                amount=amount,
                currency=str(data.get("currency", "")),
                provider_refund_id=str(data.get("refund", "")),
                occurred_at=datetime.fromtimestamp(int(event["created"]), UTC),
                raw=event,
            )
        except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation) as error:
            raise MalformedWebhook(f"The sandbox event could not be read: {error}") from error

    def _verify(self, body: bytes, header: str, now: datetime) -> None:
        if not header:
            raise InvalidSignature(f"The {SIGNATURE_HEADER} header is missing.")
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        try:
            timestamp = int(parts["t"])
            given = parts["v1"]
        except (KeyError, ValueError) as error:
            raise InvalidSignature(f"The {SIGNATURE_HEADER} header is malformed.") from error
        expected = sign(body, self.secret, timestamp).split("v1=", 1)[1]
        if not self.secret or not hmac.compare_digest(expected, given):
            raise InvalidSignature("The signature does not match the body.")
        if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
            raise StaleWebhook("The signature's timestamp is too far from now.")

    # --- as the provider --------------------------------------------------------------------

    def notify(self, charge: Any, outcome: str, *, now: datetime) -> httpx.Response:
        """Send the shop the webhook a provider would send for this charge's outcome."""
        event_type = {"paid": "charge.succeeded", "failed": "charge.failed"}[outcome]
        body = json.dumps(
            {
                "id": "sbx_evt_" + uuid.uuid4().hex,
                "type": event_type,
                "created": int(now.timestamp()),
                "data": {
                    "charge": charge.provider_reference,
                    "payment_id": str(charge.payment_public_id),
                    "reference": charge.reference,
                    "amount": str(charge.amount),
                    "currency": charge.currency,
                },
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Pasar-Sandbox/1.0",
            SIGNATURE_HEADER: sign(body, self.secret, int(now.timestamp())),
        }
        if self.http is not None:
            return self.http.post(charge.webhook_url, content=body, headers=headers)
        timeout = httpx.Timeout(
            settings.PAYMENT_GATEWAY_TIMEOUT, connect=settings.PAYMENT_GATEWAY_CONNECT_TIMEOUT
        )
        with httpx.Client(timeout=timeout) as client:
            return client.post(charge.webhook_url, content=body, headers=headers)
