"""Reads of the payments context, for the API, the pages and other contexts."""

from __future__ import annotations

import uuid

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from pasar.payments.models import (
    Capture,
    GatewayAccount,
    Payment,
    PaymentAttempt,
    PaymentStatus,
    SandboxCharge,
    WebhookLog,
    WebhookOutcome,
)
from pasar.tenancy.models import Company


def company_by_public_id(public_id: str | uuid.UUID) -> Company | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Company.objects.filter(public_id=key).first()


def payments(
    *, status: str = "", query: str = "", review: bool = False, with_gateway: bool = False
) -> QuerySet[Payment]:
    """The company's payments, newest first; `query` matches the reference or description.

    `with_gateway` marks each with `gateway_name`: the gateway that took the money, else the
    one tried last (None before any try), in the same query.
    """
    found = Payment.objects.all()
    if with_gateway:
        captured_by = Capture.objects.filter(payment=OuterRef("pk")).order_by("id")
        tried_last = PaymentAttempt.objects.filter(payment=OuterRef("pk")).order_by("-id")
        found = found.annotate(
            gateway_name=Coalesce(
                Subquery(captured_by.values("gateway")[:1]),
                Subquery(tried_last.values("gateway")[:1]),
            )
        )
    if status in PaymentStatus.values:
        found = found.filter(status=status)
    if review:
        found = found.exclude(review_reason="")
    if query := query.strip():
        found = found.filter(Q(reference__icontains=query) | Q(description__icontains=query))
    return found.order_by("-created_at", "-id")


def payment(public_id: str | uuid.UUID) -> Payment | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Payment.objects.filter(public_id=key).first()


def payment_by_reference(reference: str) -> Payment | None:
    return Payment.objects.filter(reference=reference.strip()).first()


def payment_detail(payment: Payment) -> dict[str, object]:
    """Everything the payment's page shows, in one place."""
    return {
        "attempts": list(payment.attempts.order_by("created_at", "id")),
        "captures": list(payment.captures.order_by("created_at", "id")),
        "refunds": list(payment.refunds.select_related("capture").order_by("created_at", "id")),
        "webhooks": list(payment.webhooks.order_by("-received_at", "-id")[:50]),
    }


def gateway_accounts() -> list[GatewayAccount]:
    return list(GatewayAccount.objects.order_by("priority", "gateway"))


def webhook_logs(*, gateway: str = "", outcome: str = "") -> QuerySet[WebhookLog]:
    logs = WebhookLog.objects.select_related("payment")
    if gateway:
        logs = logs.filter(gateway=gateway)
    if outcome in WebhookOutcome.values:
        logs = logs.filter(outcome=outcome)
    return logs.order_by("-received_at", "-id")


def webhook_log(public_id: str | uuid.UUID) -> WebhookLog | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return WebhookLog.objects.select_related("payment").filter(public_id=key).first()


def sandbox_charge(provider_reference: str) -> SandboxCharge | None:
    return SandboxCharge.objects.filter(provider_reference=provider_reference).first()


def latest_checkout(payment: Payment) -> str:
    """The checkout page of the payment's newest attempt that a gateway accepted."""
    attempt = (
        payment.attempts.filter(status="created").exclude(checkout_url="").order_by("-id").first()
    )
    return attempt.checkout_url if attempt else ""
