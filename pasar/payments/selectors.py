"""Reads of the payments context, for the API, the pages and other contexts.

Each read names its company (`company=`, a Company or its id) and filters by it, inside that
company's tenant context (where row-level security holds the same wall again); reads about one
payment take the payment.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from pasar.core.tenant import id_of
from pasar.payments.gateways.base import GatewayName, Method
from pasar.payments.gateways.registry import gateway_class
from pasar.payments.models import (
    AttemptStatus,
    Capture,
    GatewayAccount,
    Payment,
    PaymentAttempt,
    PaymentSettings,
    PaymentStatus,
    SandboxCharge,
    WebhookLog,
    WebhookOutcome,
)
from pasar.tenancy.models import Company

CompanyRef = Company | int


def company_by_public_id(*, public_id: str | uuid.UUID) -> Company | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Company.objects.filter(public_id=key).first()


def payments(
    *,
    company: CompanyRef,
    status: str = "",
    query: str = "",
    review: bool = False,
    with_gateway: bool = False,
) -> QuerySet[Payment]:
    """The company's payments, newest first; `query` matches the reference or description.

    `with_gateway` marks each with `gateway_name`: the gateway that took the money, else the
    one tried last (None before any try), in the same query.
    """
    found = Payment.objects.filter(company_id=id_of(company))
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


def payment(*, company: CompanyRef, public_id: str | uuid.UUID) -> Payment | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Payment.objects.filter(company_id=id_of(company), public_id=key).first()


def capture_gateway_names(*, payment: Payment) -> list[str]:
    """The gateways that took this payment's money, by name: the way a refund goes back."""
    names: list[str] = []
    for capture in payment.captures.order_by("created_at", "id"):
        name = capture.get_gateway_display()
        if name not in names:
            names.append(name)
    return names


def payment_detail(*, payment: Payment) -> dict[str, object]:
    """Everything the payment's page shows, in one place. Each attempt carries `captured`, the
    money that came in through it, so a paid attempt reads "Paid", not "Created"."""
    captures = list(payment.captures.order_by("created_at", "id"))
    attempts = list(payment.attempts.order_by("created_at", "id"))
    for attempt in attempts:
        attempt.captured = sum(
            (capture.amount for capture in captures if capture.attempt_id == attempt.pk),
            Decimal(0),
        )
    return {
        "attempts": attempts,
        "captures": captures,
        "refunds": list(payment.refunds.select_related("capture").order_by("created_at", "id")),
        "webhooks": list(payment.webhooks.order_by("-received_at", "-id")[:50]),
    }


def payment_settings(*, company: CompanyRef) -> PaymentSettings:
    """The company's payment defaults (unsaved defaults when it never changed them)."""
    return PaymentSettings.objects.filter(company_id=id_of(company)).first() or PaymentSettings()


def gateway_accounts(*, company: CompanyRef) -> list[GatewayAccount]:
    return list(
        GatewayAccount.objects.filter(company_id=id_of(company)).order_by("priority", "gateway")
    )


def gateway_account(*, company: CompanyRef, gateway: str) -> GatewayAccount | None:
    return GatewayAccount.objects.filter(company_id=id_of(company), gateway=gateway).first()


def current_attempt(*, payment: Payment) -> PaymentAttempt | None:
    """The newest attempt a gateway accepted: what the shopper continues with."""
    return payment.attempts.filter(status=AttemptStatus.CREATED).order_by("-id").first()


def current_qr_payload(*, payment: Payment) -> str:
    """The PayNow payload of the newest attempt that has one ("" when none has)."""
    attempt = payment.attempts.exclude(paynow_payload="").order_by("-id").first()
    return attempt.paynow_payload if attempt else ""


def sandbox_allowed(*, company: CompanyRef) -> bool:
    """The one rule for the sandbox: it is for demos and tests, so never in production settings
    and never once the company has any real gateway account (live or test mode, on or off),
    which keeps the sandbox from standing in when a real gateway is down or switched off."""
    return _sandbox_allowed_among(gateway_accounts(company=company))


def _sandbox_allowed_among(accounts: list[GatewayAccount]) -> bool:
    """sandbox_allowed, from every account of the company (read once by the caller)."""
    if settings.PASAR_ENV == "production":
        return False
    return all(account.gateway == GatewayName.SANDBOX for account in accounts)


def webhook_account(*, company: CompanyRef, gateway: str) -> GatewayAccount | None:
    """The account whose webhooks are accepted: set up, switched on, and for the sandbox only
    while the sandbox is allowed."""
    accounts = gateway_accounts(company=company)
    account = next((a for a in accounts if a.gateway == gateway and a.is_active), None)
    if account is None or (gateway == GatewayName.SANDBOX and not _sandbox_allowed_among(accounts)):
        return None
    return account


def active_gateways(*, company: CompanyRef) -> list[GatewayAccount]:
    """The gateways a payment is tried at, in priority order; the sandbox only while allowed."""
    accounts = gateway_accounts(company=company)
    active = [account for account in accounts if account.is_active]
    if not _sandbox_allowed_among(accounts):
        active = [account for account in active if account.gateway != GatewayName.SANDBOX]
    return active


def methods_offered(*, company: CompanyRef) -> list[Method]:
    """The ways to pay that at least one of those gateways takes, in a fixed order."""
    offered = {
        method
        for account in active_gateways(company=company)
        for method in gateway_class(account.gateway).methods
    }
    return [method for method in Method if method in offered]


def webhook_logs(
    *, company: CompanyRef, gateway: str = "", outcome: str = ""
) -> QuerySet[WebhookLog]:
    logs = WebhookLog.objects.filter(company_id=id_of(company)).select_related("payment")
    if gateway:
        logs = logs.filter(gateway=gateway)
    if outcome in WebhookOutcome.values:
        logs = logs.filter(outcome=outcome)
    return logs.order_by("-received_at", "-id")


def webhook_log(*, company: CompanyRef, public_id: str | uuid.UUID) -> WebhookLog | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    logs = WebhookLog.objects.filter(company_id=id_of(company), public_id=key)
    return logs.select_related("payment").first()


def sandbox_charge(*, company: CompanyRef, provider_reference: str) -> SandboxCharge | None:
    """A sandbox charge to show on its checkout page; none while the sandbox is not allowed."""
    if webhook_account(company=company, gateway=GatewayName.SANDBOX) is None:
        return None
    charges = SandboxCharge.objects.filter(company_id=id_of(company))
    return charges.filter(provider_reference=provider_reference).first()
