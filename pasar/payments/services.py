"""Every write of the payments context: payables, attempts across gateways, webhooks, expiry,
refunds, staff review and gateway settings. docs/payments.md explains the rules.

No gateway is called with a database transaction open (`ensure_no_transaction` checks): what
is about to be asked is recorded and committed first, the provider is called, and its answer is
recorded in a new transaction. Refunds hold their amount against the balance before the call,
which is what keeps two refunds at once from both passing.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pasar.core.audit import audit_changes, audit_record
from pasar.core.errors import Conflict, DomainError, Forbidden, NotFound
from pasar.core.events import publish
from pasar.core.money import CENT, AmountError, format_sgd, parse_money
from pasar.core.ratelimit import seconds_over_limit
from pasar.core.tenant import (
    between_transactions,
    current_user_id,
    system_access,
    tenant_context,
)
from pasar.core.transactions import ensure_no_transaction
from pasar.payments import circuit, events, selectors
from pasar.payments.credentials import UnreadableCredentials, hint, seal, unseal
from pasar.payments.gateways.base import (
    ChargeRequest,
    ChargeStatus,
    EventKind,
    Gateway,
    GatewayCredentialsInvalid,
    GatewayError,
    GatewayName,
    GatewayUnavailable,
    Method,
    RefundRequest,
    WebhookEvent,
    WebhookRejected,
)
from pasar.payments.gateways.registry import gateway_class
from pasar.payments.gateways.sandbox import SandboxGateway
from pasar.payments.models import (
    OPEN_STATUSES,
    AttemptStatus,
    Capture,
    GatewayAccount,
    GatewayChoice,
    Payment,
    PaymentAttempt,
    PaymentPurpose,
    PaymentSettings,
    PaymentStatus,
    ProcessedWebhookEvent,
    Refund,
    RefundStatus,
    ReviewReason,
    SandboxCharge,
    WebhookLog,
    WebhookOutcome,
)
from pasar.tenancy.models import Company, User

logger = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
# Tests hand gateways an httpx client with a fake transport, by gateway name.
HttpClients = Mapping[str, httpx.Client]

MAX_TTL = timedelta(days=30)
MAX_AMOUNT = Decimal("9999999.99")
SUPPORTED_CURRENCIES = frozenset({"SGD"})
WEBHOOK_BODY_KEPT = 64 * 1024
WEBHOOK_HEADER_CHARS_KEPT = 200
WEBHOOK_HEADERS_KEPT = (
    "content-type",
    "user-agent",
    "stripe-signature",
    "hitpay-signature",
    "hitpay-event-type",
    "hitpay-event-object",
    "sandbox-signature",
)


class InvalidPayment(DomainError):
    code = "invalid"
    status = 400


class PaymentClosed(Conflict):
    code = "payment_closed"


class GatewaysUnavailable(DomainError):
    code = "gateways_unavailable"
    status = 503


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"


class RefundFailed(DomainError):
    code = "refund_failed"
    status = 502


def _field_error(field: str, message: str, *, code: str = "invalid") -> InvalidPayment:
    return InvalidPayment(
        f"{field}: {message}", details=[{"field": field, "code": code, "message": message}]
    )


def _checked_amount(value: Any, field: str = "amount") -> Decimal:
    """A payment or refund amount: at least 0.01, in cents, at most MAX_AMOUNT."""
    try:
        return parse_money(value, minimum=CENT, maximum=MAX_AMOUNT, what="The amount")
    except AmountError as error:
        code = error.code if error.code in ("too_small", "too_large") else "invalid"
        raise _field_error(field, error.message, code=code) from None


def _currency(value: Any) -> str:
    currency = str(value or "").strip().upper()
    if currency not in SUPPORTED_CURRENCIES:
        raise _field_error("currency", "Payments are taken in SGD.", code="unsupported_currency")
    return currency


def derived_key(*identity: object) -> str:
    """An idempotency key from what an operation is: the SHA-256 of its full identity, 64 hex
    characters whatever the parts' lengths. Never cut: two long ids sharing a prefix must not
    share a key."""
    text = "\x1f".join(str(part) for part in identity)
    return hashlib.sha256(text.encode()).hexdigest()


EVENT_ID_KEPT = 200


def _event_key(event_id: str) -> str:
    """The deduplication key of a provider event: its id, or a digest of an id too long to
    store (never the id cut short, which could make two events one)."""
    return event_id if len(event_id) <= EVENT_ID_KEPT else derived_key("event", event_id)


def _payment_payload(payment: Payment, **extra: Any) -> dict[str, Any]:
    return {
        "payment": payment.public_id,
        "reference": payment.reference,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "captured_amount": payment.captured_amount,
        "refunded_amount": payment.refunded_amount,
        **extra,
    }


def _announce_capture(payment: Payment, capture: Capture, now: datetime) -> None:
    """Publish `payment.captured` for one capture the shop keeps: once per capture, in one
    shape (docs/events.md). Inside the caller's transaction, under the payment's lock."""
    if capture.announced_at is not None:
        return
    capture.announced_at = now
    capture.save(update_fields=["announced_at"])
    publish(
        events.PAYMENT_CAPTURED,
        {
            "capture": capture.public_id,
            "payment": payment.public_id,
            "reference": payment.reference,
            "company": payment.company.public_id,
            "amount": capture.amount,
            "currency": capture.currency,
            "gateway": capture.gateway,
            "captured_at": capture.created_at,
        },
    )


# --- Payables -------------------------------------------------------------------------------


def payment_create(
    *,
    company: Company,
    reference: str,
    amount: Any,
    currency: str = "SGD",
    description: str = "",
    ttl: timedelta | None = None,
    purpose: str = PaymentPurpose.CHECKOUT,
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> Payment:
    """A payment for one payable: its reference (unique in the company), amount and expiry.

    With no `ttl` it stays open for the company's default for its purpose (a checkout: 30
    minutes; a link sent by chat: a day, unless the company changed them).
    """
    reference = (reference or "").strip()
    if not reference:
        raise _field_error("reference", "Name the payable, e.g. its order number.", code="required")
    if len(reference) > 25 or not reference.isascii() or not reference.isprintable():
        raise _field_error(
            "reference",
            "A reference has at most 25 plain (ASCII) characters: banking apps show it as is.",
        )
    money = _checked_amount(amount)
    code = _currency(currency)
    if purpose not in PaymentPurpose.values:
        raise _field_error("purpose", f"Choose one of: {', '.join(PaymentPurpose.values)}.")
    if ttl is not None and not timedelta(minutes=1) <= ttl <= MAX_TTL:
        raise _field_error("ttl_seconds", "A payment stays open between 1 minute and 30 days.")
    now = clock()
    with tenant_context(company, user=actor or current_user_id()):
        if ttl is None:
            ttl = timedelta(
                minutes=selectors.payment_settings(company=company).ttl_minutes(purpose)
            )
        try:
            # Its own savepoint: a duplicate reference is refused and the caller's block goes on.
            with transaction.atomic():
                payment = Payment.objects.create(
                    company=company,
                    reference=reference,
                    description=(description or "").strip()[:200],
                    amount=money,
                    currency=code,
                    expires_at=now + ttl,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError as error:
            raise Conflict(
                f"A payment for {reference} already exists.", code="duplicate_reference"
            ) from error
        publish(events.PAYMENT_CREATED, _payment_payload(payment, expires_at=payment.expires_at))
    return payment


def _locked(payment: Payment) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment.pk)


def _expire(payment: Payment, now: datetime) -> None:
    payment.move_to(PaymentStatus.EXPIRED, now)
    payment.save(update_fields=["status", "updated_at"])
    publish(events.PAYMENT_EXPIRED, _payment_payload(payment, expired_at=now))


def payment_expire_if_due(payment: Payment, *, clock: Clock = timezone.now) -> Payment:
    """Expire the payment now if it is past its expiry unpaid; how reads keep status true."""
    now = clock()
    if not payment.is_overdue(now) or payment.captured_amount > 0:
        return payment
    with tenant_context(payment.company_id, user=current_user_id()):
        locked = _locked(payment)
        if locked.is_overdue(now) and locked.captured_amount == 0:
            _expire(locked, now)
    return locked


def payments_expire_overdue(*, clock: Clock = timezone.now, limit: int = 500) -> int:
    """The periodic sweep: every unpaid payment past its expiry becomes expired."""
    now = clock()
    with system_access(reason="expire overdue payments"):
        due = list(
            Payment.objects.filter(status__in=OPEN_STATUSES, expires_at__lte=now, captured_amount=0)
            .order_by("expires_at")
            .values_list("company_id", "pk")[:limit]
        )
    expired = 0
    for company_id, pk in due:
        with tenant_context(company_id):
            payment = (
                Payment.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status__in=OPEN_STATUSES, expires_at__lte=now, captured_amount=0)
                .first()
            )
            if payment is None:
                continue
            _expire(payment, now)
        expired += 1
    return expired


def payment_cancel(*, payment: Payment, actor: User | None, clock: Clock = timezone.now) -> Payment:
    """Stop waiting for a payment (the order was cancelled). Money arriving later is kept."""
    now = clock()
    with tenant_context(payment.company_id, user=actor or current_user_id()):
        locked = _locked(payment)
        if locked.status not in OPEN_STATUSES:
            raise PaymentClosed(
                f"A payment that is {locked.get_status_display().lower()} cannot be cancelled."
            )
        locked.move_to(PaymentStatus.CANCELLED, now)
        locked.save(update_fields=["status", "updated_at"])
        audit_record(action="payment.cancelled", obj=locked, actor=actor)
        publish(events.PAYMENT_CANCELLED, _payment_payload(locked))
    return locked


# --- Gateways: settings and construction ------------------------------------------------------


def _account_gateway(account: GatewayAccount, http: HttpClients | None = None) -> Gateway:
    cls = gateway_class(account.gateway)
    client = (http or {}).get(account.gateway)
    return cls(unseal(account.credentials_encrypted), http=client, live=account.live)


def gateway_account_save(
    *,
    company: Company,
    gateway: str,
    credentials: Mapping[str, str],
    priority: int = 100,
    is_active: bool = True,
    live: bool = False,
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> GatewayAccount:
    """Create or update a gateway's settings. Blank credential fields keep the stored value,
    so a settings form never has to show a secret again to save other changes."""
    try:
        cls = gateway_class(gateway)
    except KeyError as error:
        raise _field_error("gateway", "Choose Stripe, HitPay, 2C2P or Sandbox.") from error
    unknown = sorted(set(credentials) - {field.name for field in cls.credential_fields})
    if unknown:
        raise InvalidPayment(
            "Unknown credential fields: " + ", ".join(unknown) + ".",
            details=[{"field": f"credentials.{name}", "code": "unknown_field"} for name in unknown],
        )
    if live and gateway == GatewayName.SANDBOX:
        raise _field_error("live", "The sandbox moves no money: it has no live mode.")
    if live and actor is not None and actor.email_verified_at is None:
        # Real money follows only a person whose email is known to be theirs.
        raise Forbidden(
            "Confirm your email address first (we sent you a link) before taking live payments.",
            code="email_not_verified",
        )
    if not 0 <= int(priority) <= 1000:
        raise _field_error("priority", "Priority is a number from 0 to 1000; lower goes first.")
    now = clock()
    with tenant_context(company, user=actor or current_user_id()):
        if (
            gateway == GatewayName.SANDBOX
            and is_active
            and not selectors.sandbox_allowed(company=company)
        ):
            raise Conflict(
                "The sandbox is for demos and tests: it cannot be turned on in production or "
                "next to a real gateway.",
                code="sandbox_not_allowed",
            )
        account = GatewayAccount.objects.select_for_update().filter(gateway=gateway).first()
        stored = unseal(account.credentials_encrypted) if account else {}
        merged = dict(stored)
        for field in cls.credential_fields:
            value = str(credentials.get(field.name, "") or "").strip()
            if value:
                merged[field.name] = value
        missing = [f.label for f in cls.credential_fields if not merged.get(f.name)]
        if missing and is_active:
            raise InvalidPayment(
                "Enter " + ", ".join(missing) + " to turn this gateway on.",
                code="credentials_missing",
                details=[
                    {"field": f.name, "code": "required", "message": f"{f.label} is needed."}
                    for f in cls.credential_fields
                    if not merged.get(f.name)
                ],
            )
        hints = {
            f.name: hint(merged[f.name], secret=f.secret)
            for f in cls.credential_fields
            if merged.get(f.name)
        }
        before = (
            {"priority": account.priority, "is_active": account.is_active, "live": account.live}
            if account
            else {"priority": None, "is_active": None, "live": None}
        )
        if account is None:
            account = GatewayAccount(company=company, gateway=gateway, created_at=now)
        credentials_changed = merged != stored
        account.priority = int(priority)
        account.is_active = is_active
        account.live = live
        account.credentials_encrypted = seal(merged)
        account.credential_hints = hints
        if credentials_changed:
            account.credentials_rejected_at = None
        account.updated_at = now
        account.save()
        changes = audit_changes(before, account, ["priority", "is_active", "live"])
        if credentials_changed:
            # Which fields changed, never their values.
            changes["credentials"] = [
                None,
                sorted(name for name in merged if merged[name] != stored.get(name)),
            ]
        audit_record(action="payments.gateway_saved", obj=account, changes=changes, actor=actor)
    return account


def payment_settings_save(
    *,
    company: Company,
    link_ttl_minutes: int,
    checkout_ttl_minutes: int,
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> PaymentSettings:
    """Change how long new payments stay open by default; open payments keep their expiry."""
    limit = int(MAX_TTL.total_seconds() // 60)
    problems = [
        {"field": field, "message": "Between 1 minute and 30 days (43200 minutes)."}
        for field, minutes in (
            ("link_ttl_minutes", link_ttl_minutes),
            ("checkout_ttl_minutes", checkout_ttl_minutes),
        )
        if not 1 <= minutes <= limit
    ]
    if problems:
        raise InvalidPayment("Check the expiry times.", details=problems)
    with tenant_context(company, user=actor or current_user_id()):
        stored = PaymentSettings.objects.select_for_update().first()
        current = stored or PaymentSettings(company=company)
        before = {
            "link_ttl_minutes": current.link_ttl_minutes,
            "checkout_ttl_minutes": current.checkout_ttl_minutes,
        }
        current.link_ttl_minutes = link_ttl_minutes
        current.checkout_ttl_minutes = checkout_ttl_minutes
        current.updated_at = clock()
        current.save()
        changes = audit_changes(before, current, before.keys())
        if changes:
            audit_record(
                action="payments.settings_saved", obj=current, changes=changes, actor=actor
            )
    return current


def sandbox_enable(*, company: Company, actor: User | None = None) -> GatewayAccount:
    """Turn on the sandbox gateway with a fresh signing secret (the demo and new shops)."""
    return gateway_account_save(
        company=company,
        gateway=GatewayName.SANDBOX,
        credentials={"signing_secret": "sbx_whsec_" + uuid.uuid4().hex},
        priority=1000,
        actor=actor,
    )


# --- Starting a payment: attempts across gateways --------------------------------------------


def webhook_path(company: Company, gateway: str) -> str:
    return f"/webhooks/{gateway}/{company.public_id}/"


@dataclass(frozen=True)
class StartResult:
    payment: Payment
    attempt: PaymentAttempt  # the attempt the shopper continues with
    attempts: list[PaymentAttempt]  # every attempt made by this call, in order


def payment_start(
    *,
    payment: Payment,
    method: str,
    base_url: str,
    return_url: str,
    clock: Clock = timezone.now,
    http: HttpClients | None = None,
) -> StartResult:
    """Create the payment at the first configured gateway that takes it.

    Gateways are tried in priority order among the active ones that offer the method; one that
    times out or errors is recorded and the next is tried; one whose circuit is open is
    skipped. Raises GatewaysUnavailable (with every attempt recorded) when none took it.
    """
    try:
        wanted = Method(method)
    except ValueError as error:
        raise _field_error("method", "Choose paynow, card or grabpay.") from error
    ensure_no_transaction("Starting a payment (it calls the payment gateways)")
    company = payment.company
    now = clock()
    payment = payment_expire_if_due(payment, clock=clock)
    with tenant_context(company, user=current_user_id()):
        payment.refresh_from_db()
        payment.company = company  # kept: refreshing drops it, and reading it again costs
        if payment.status not in OPEN_STATUSES:
            raise PaymentClosed(
                f"This payment is {payment.get_status_display().lower()}; it cannot be paid again."
            )
        accounts = [
            account
            for account in selectors.active_gateways(company=company)
            if wanted in gateway_class(account.gateway).methods
        ]
        # The first try is recorded with the read: one transaction fewer before the call.
        first = _new_attempt(payment, accounts[0], wanted, now) if accounts else None
    if first is None:
        raise GatewaysUnavailable(
            f"No payment gateway that takes {wanted.value} is set up for this shop.",
            code="no_gateway",
        )

    attempts: list[PaymentAttempt] = []
    for index, account in enumerate(accounts):
        if index == 0:
            attempt = first
        else:
            with tenant_context(company, user=current_user_id()):
                attempt = _new_attempt(payment, account, wanted, now)
        attempt = _attempt(attempt, payment, account, base_url, return_url, http)
        attempts.append(attempt)
        if attempt.status == AttemptStatus.CREATED:
            return StartResult(payment=payment, attempt=attempt, attempts=attempts)
    raise GatewaysUnavailable(
        "No payment gateway could take this payment just now; please try again shortly.",
        details=[
            {"gateway": a.gateway, "status": a.status, "error": a.error_message} for a in attempts
        ],
    )


def _new_attempt(
    payment: Payment, account: GatewayAccount, method: Method, now: datetime
) -> PaymentAttempt:
    """A try at one gateway, recorded as being sent (in the caller's transaction)."""
    attempt = PaymentAttempt(
        company=payment.company,
        payment=payment,
        gateway=account.gateway,
        method=method,
        status=AttemptStatus.SENDING,
        created_at=now,
    )
    # One key per attempt, from the attempt's own identity: a resend of it repeats the key.
    attempt.idempotency_key = derived_key("attempt", payment.public_id, attempt.public_id)
    attempt.save()
    return attempt


def _attempt(
    attempt: PaymentAttempt,
    payment: Payment,
    account: GatewayAccount,
    base_url: str,
    return_url: str,
    http: HttpClients | None,
) -> PaymentAttempt:
    """Send a recorded try to its gateway; its outcome is recorded whatever happens."""
    company = payment.company
    method = Method(attempt.method)
    key = attempt.idempotency_key
    if circuit.is_open(company.pk, account.gateway):
        return _finish_attempt(
            attempt,
            status=AttemptStatus.SKIPPED,
            error_kind="circuit_open",
            error_message="Skipped: this gateway failed repeatedly in the last minute.",
        )
    request = ChargeRequest(
        payment_id=str(payment.public_id),
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        expires_at=payment.expires_at,
        description=payment.description or payment.reference,
        methods=(method,),
        idempotency_key=key,
        webhook_url=base_url.rstrip("/") + webhook_path(company, account.gateway),
        return_url=return_url,
        merchant_name=company.legal_name,
        paynow_uen=company.uen,
    )
    started = time.monotonic()
    try:
        gateway = _account_gateway(account, http)
        # The attempt is committed above; the provider is called with nothing open or locked.
        ensure_no_transaction("A gateway call")
        with between_transactions(company, user=current_user_id()):
            result = gateway.create_charge(request)
    except (GatewayError, UnreadableCredentials) as error:
        circuit.record_failure(company.pk, account.gateway)
        if isinstance(error, GatewayCredentialsInvalid | UnreadableCredentials):
            _mark_credentials_rejected(account, attempt.created_at)
        logger.warning(
            "payments.attempt_failed",
            gateway=account.gateway,
            payment=str(payment.public_id),
            error=type(error).__name__,
        )
        return _finish_attempt(
            attempt,
            status=AttemptStatus.ERROR,
            error_kind=type(error).__name__,
            error_message=str(error)[:500],
            response=dict(getattr(error, "raw", {}) or {}),
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    circuit.record_success(company.pk, account.gateway)
    return _finish_attempt(
        attempt,
        status=AttemptStatus.CREATED,
        provider_reference=result.provider_reference,
        checkout_url=result.checkout_url,
        paynow_payload=result.paynow_payload,
        response=dict(result.raw),
        duration_ms=int((time.monotonic() - started) * 1000),
        charge_status=result.status,
    )


def _finish_attempt(
    attempt: PaymentAttempt,
    *,
    status: AttemptStatus,
    charge_status: ChargeStatus | None = None,
    **fields: Any,
) -> PaymentAttempt:
    with tenant_context(attempt.company_id, user=current_user_id()):
        attempt.status = status
        for name, value in fields.items():
            setattr(attempt, name, value)
        attempt.save()
        if charge_status == ChargeStatus.FAILED:
            # Refused at once (e.g. a declined card with the request): the payment stays open
            # for another try, but staff see it failed.
            payment = _locked(attempt.payment)
            if payment.can_move_to(PaymentStatus.FAILED):
                payment.move_to(PaymentStatus.FAILED, attempt.created_at)
                payment.save(update_fields=["status", "updated_at"])
                publish(events.PAYMENT_FAILED, _payment_payload(payment, gateway=attempt.gateway))
    return attempt


def _mark_credentials_rejected(account: GatewayAccount, now: datetime) -> None:
    with tenant_context(account.company_id):
        GatewayAccount.objects.filter(pk=account.pk).update(credentials_rejected_at=now)


# --- Webhooks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResult:
    status_code: int
    outcome: WebhookOutcome
    detail: str = ""


def webhook_rate_limited(remote_addr: str | None) -> int | None:
    """Count one webhook call from this client address; the seconds to wait when it is over
    PAYMENT_WEBHOOK_RATE_LIMIT calls in PAYMENT_WEBHOOK_RATE_WINDOW seconds, else None. A cache
    that fails lets the call through: a Redis outage must never cost a shop a real provider's
    webhook."""
    return seconds_over_limit(
        f"payments:webhook:{remote_addr or 'unknown'}",
        limit=int(settings.PAYMENT_WEBHOOK_RATE_LIMIT),
        window=int(settings.PAYMENT_WEBHOOK_RATE_WINDOW),
    )


def webhook_receive(
    *,
    company_public_id: str,
    gateway: str,
    body: bytes,
    headers: Mapping[str, str],
    remote_addr: str | None = None,
    clock: Clock = timezone.now,
) -> WebhookResult:
    """Verify, deduplicate and apply one inbound webhook; every call is logged.

    A signature that does not verify, a stale timestamp or a malformed body: 400 and nothing
    changed. An event already processed: 200 and nothing changed. Concurrent deliveries of
    one event meet at the ProcessedWebhookEvent unique row: one applies it, the rest wait and
    then find it done.
    """
    now = clock()
    company = selectors.company_by_public_id(public_id=company_public_id)
    if company is None or gateway not in GatewayChoice.values:
        raise NotFound("No such webhook endpoint.", code="unknown_endpoint")
    # One transaction: a refusal is logged, or the event is applied and logged with it.
    with tenant_context(company, all_or_nothing=True):
        account = selectors.webhook_account(company=company, gateway=gateway)
        if account is None:
            # Not set up, switched off, or a sandbox that is not allowed: nothing is written.
            raise NotFound("This gateway is not set up for the shop.", code="unknown_endpoint")
        event = _verify_webhook(account, gateway, body, headers, now, company_public_id)
        if isinstance(event, WebhookResult):
            _log_webhook(company, gateway, now, body, headers, remote_addr, event)
            return event
        payment_pk: int | None = None
        try:
            with transaction.atomic():
                ProcessedWebhookEvent.objects.create(
                    company=company,
                    gateway=gateway,
                    event_id=_event_key(event.event_id),
                    processed_at=now,
                )
        except IntegrityError:
            result = WebhookResult(200, WebhookOutcome.DUPLICATE, "Already processed.")
        else:
            result, payment_pk = _apply_event(company, gateway, event, now)
        _log_webhook(company, gateway, now, body, headers, remote_addr, result, event, payment_pk)
    return result


def _verify_webhook(
    account: GatewayAccount,
    gateway: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    company_public_id: str,
) -> WebhookEvent | WebhookResult:
    """The verified event, or the refusal to log and answer."""
    try:
        return _account_gateway(account).parse_webhook(body, headers, now=now)
    except (WebhookRejected, UnreadableCredentials) as error:
        logger.warning(
            "payments.webhook_rejected",
            gateway=gateway,
            company=company_public_id,
            reason=type(error).__name__,
            detail=str(error)[:200],
        )
        return WebhookResult(400, WebhookOutcome.REJECTED, f"{type(error).__name__}: {error}")


def _log_webhook(
    company: Company,
    gateway: str,
    now: datetime,
    body: bytes,
    headers: Mapping[str, str],
    remote_addr: str | None,
    result: WebhookResult,
    event: WebhookEvent | None = None,
    payment_pk: int | None = None,
) -> None:
    # A summary: the headers that matter, each cut for display (they are not keys).
    kept_headers = {
        name: value[:WEBHOOK_HEADER_CHARS_KEPT]
        for name, value in headers.items()
        if name.lower() in WEBHOOK_HEADERS_KEPT
    }
    # A refused call keeps no body: only why, the headers summary and the size.
    verified = result.outcome != WebhookOutcome.REJECTED
    with tenant_context(company):
        WebhookLog.objects.create(
            company=company,
            gateway=gateway,
            received_at=now,
            outcome=result.outcome,
            detail=result.detail[:300],
            event_id=_event_key(event.event_id) if event else "",
            event_kind=event.kind.value if event else "",
            payment_id=payment_pk,
            headers=kept_headers,
            body=body[:WEBHOOK_BODY_KEPT].decode("utf-8", errors="replace") if verified else "",
            body_bytes=len(body),
            remote_addr=remote_addr or None,
        )


def _find_payment(
    gateway: str, event: WebhookEvent
) -> tuple[Payment, PaymentAttempt | None] | None:
    """The payment an event is about, only through an attempt made at that same gateway: a
    payment id alone never lets one gateway's secret settle a payment tried elsewhere."""
    attempts = PaymentAttempt.objects.filter(gateway=gateway).select_related("payment")
    attempt = None
    if event.provider_reference:
        attempt = attempts.filter(provider_reference=event.provider_reference).first()
    if attempt is None and event.payment_id:
        try:
            payment_key = uuid.UUID(event.payment_id)
        except ValueError:
            return None
        attempt = attempts.filter(payment__public_id=payment_key).order_by("-id").first()
    if attempt is None:
        return None
    return _locked(attempt.payment), attempt


def _apply_event(
    company: Company, gateway: str, event: WebhookEvent, now: datetime
) -> tuple[WebhookResult, int | None]:
    if event.kind in (EventKind.IGNORED, EventKind.DISPUTED):
        detail = (
            "A dispute was opened; answer it in the provider's dashboard."
            if event.kind == EventKind.DISPUTED
            else "Verified; nothing to do for this event type."
        )
        return WebhookResult(200, WebhookOutcome.IGNORED, detail), None
    found = _find_payment(gateway, event)
    if found is None:
        # Acknowledged so the provider stops retrying; kept in the log for staff to look at.
        return WebhookResult(
            200, WebhookOutcome.UNMATCHED, "No payment matches this event's reference."
        ), None
    payment, attempt = found
    payment.company = company  # found in its context: saves reading the company again
    apply = {
        EventKind.CAPTURED: _on_captured,
        EventKind.AUTHORISED: _on_authorised,
        EventKind.FAILED: _on_failed,
        EventKind.CANCELLED: _on_failed,
        EventKind.REFUNDED: _on_refunded,
        EventKind.REFUND_FAILED: _on_refund_failed,
    }[event.kind]
    return apply(payment, attempt, gateway, event, now), payment.pk


def _on_captured(
    payment: Payment,
    attempt: PaymentAttempt | None,
    gateway: str,
    event: WebhookEvent,
    now: datetime,
) -> WebhookResult:
    amount = event.amount if event.amount is not None else payment.amount
    if amount < CENT:
        return WebhookResult(200, WebhookOutcome.UNMATCHED, "A capture of no money: not applied.")
    provider_reference = event.provider_reference or (attempt.provider_reference if attempt else "")
    if event.currency and event.currency.upper() != payment.currency:
        # Kept for staff, never applied: the books cannot take a foreign-currency capture.
        return WebhookResult(
            200,
            WebhookOutcome.UNMATCHED,
            f"Captured in {event.currency.upper()}, but the payment is in {payment.currency}.",
        )
    try:
        with transaction.atomic():
            capture = Capture.objects.create(
                company_id=payment.company_id,
                payment=payment,
                attempt=attempt,
                gateway=gateway,
                provider_reference=provider_reference,
                amount=amount,
                currency=payment.currency,
                created_at=now,
            )
    except IntegrityError:
        # The same provider payment told again under another event id.
        return WebhookResult(200, WebhookOutcome.DUPLICATE, "This capture is already recorded.")
    before_status = payment.status
    payment.captured_amount += amount
    payment.captured_at = payment.captured_at or now
    review = ReviewReason.NONE
    if before_status == PaymentStatus.EXPIRED:
        review = ReviewReason.CAPTURED_AFTER_EXPIRY
    elif before_status == PaymentStatus.CANCELLED:
        review = ReviewReason.CAPTURED_AFTER_CANCEL
    elif before_status not in OPEN_STATUSES:
        review = ReviewReason.PAID_TWICE
    elif payment.captured_amount != payment.amount:
        review = ReviewReason.AMOUNT_MISMATCH
    payment.updated_at = now
    if review:
        payment.review_reason = review
        payment.save()
        publish(
            events.PAYMENT_REVIEW_NEEDED,
            _payment_payload(payment, gateway=gateway, review_reason=review, captured=amount),
        )
        return WebhookResult(
            200, WebhookOutcome.PROCESSED, f"Capture kept for review: {review.label}."
        )
    payment.move_to(PaymentStatus.CAPTURED, now)
    payment.save()
    _announce_capture(payment, capture, now)
    return WebhookResult(200, WebhookOutcome.PROCESSED, "Captured.")


def _on_authorised(
    payment: Payment,
    attempt: PaymentAttempt | None,
    gateway: str,
    event: WebhookEvent,
    now: datetime,
) -> WebhookResult:
    if not payment.can_move_to(PaymentStatus.AUTHORISED):
        return _stale(payment)
    payment.move_to(PaymentStatus.AUTHORISED, now)
    payment.save(update_fields=["status", "updated_at"])
    return WebhookResult(200, WebhookOutcome.PROCESSED, "Authorised.")


def _on_failed(
    payment: Payment,
    attempt: PaymentAttempt | None,
    gateway: str,
    event: WebhookEvent,
    now: datetime,
) -> WebhookResult:
    if payment.status == PaymentStatus.FAILED or not payment.can_move_to(PaymentStatus.FAILED):
        return _stale(payment)
    payment.move_to(PaymentStatus.FAILED, now)
    payment.save(update_fields=["status", "updated_at"])
    publish(events.PAYMENT_FAILED, _payment_payload(payment, gateway=gateway))
    return WebhookResult(200, WebhookOutcome.PROCESSED, "Failed.")


def _stale(payment: Payment) -> WebhookResult:
    return WebhookResult(
        200,
        WebhookOutcome.STALE,
        f"Arrived out of order; the payment stays {payment.get_status_display().lower()}.",
    )


def _on_refunded(
    payment: Payment,
    attempt: PaymentAttempt | None,
    gateway: str,
    event: WebhookEvent,
    now: datetime,
) -> WebhookResult:
    refund = None
    if event.provider_refund_id:
        refund = (
            Refund.objects.select_for_update()
            .filter(payment=payment, provider_refund_id=event.provider_refund_id)
            .first()
        )
    if refund is None and event.amount_is_refunded_total:
        return _refunded_total(payment, attempt, gateway, event, now)
    if refund is None:
        return _refund_made_elsewhere(payment, gateway, event, now)
    if refund.status != RefundStatus.PENDING:
        return WebhookResult(200, WebhookOutcome.DUPLICATE, "This refund is already settled.")
    _refund_succeeded(payment, refund, now)
    return WebhookResult(200, WebhookOutcome.PROCESSED, "Refund succeeded.")


def _refunded_total(
    payment: Payment,
    attempt: PaymentAttempt | None,
    gateway: str,
    event: WebhookEvent,
    now: datetime,
) -> WebhookResult:
    """A provider's running total of refunds for one capture (HitPay names no refund): settle
    Pasar's own refunds pending there that the total explains, oldest first, and book only
    what is still unexplained as a refund made at the provider. The same total told again
    changes nothing."""
    reference = event.provider_reference or (attempt.provider_reference if attempt else "")
    capture = (
        payment.captures.filter(gateway=gateway, provider_reference=reference).first()
        or payment.captures.filter(gateway=gateway).order_by("created_at", "id").first()
    )
    total = event.amount
    if capture is None or total is None:
        return WebhookResult(
            200, WebhookOutcome.UNMATCHED, "A refund total that matches no capture here."
        )
    refunds = list(Refund.objects.select_for_update().filter(capture=capture).order_by("id"))
    settled = sum((r.amount for r in refunds if r.status == RefundStatus.SUCCEEDED), Decimal(0))
    unexplained = total - settled
    settled_now = []
    for pending in (r for r in refunds if r.status == RefundStatus.PENDING):
        if CENT <= pending.amount <= unexplained:
            settled_now.append(pending)
            unexplained -= pending.amount
    still_pending = sum(
        (r.amount for r in refunds if r.status == RefundStatus.PENDING and r not in settled_now),
        Decimal(0),
    )
    extra = unexplained - still_pending
    if not settled_now and extra < CENT:
        return WebhookResult(200, WebhookOutcome.DUPLICATE, "This refund total is already booked.")
    if extra > payment.refundable:
        return WebhookResult(
            200, WebhookOutcome.UNMATCHED, "The refund total is more than is left to refund."
        )
    for pending in settled_now:
        _refund_succeeded(payment, pending, now)
    if extra >= CENT:
        refund = Refund.objects.create(
            company_id=payment.company_id,
            payment=payment,
            capture=capture,
            amount=extra,
            reason="Refunded at the provider",
            idempotency_key=derived_key("provider_refund_total", gateway, reference, total),
            created_at=now,
            updated_at=now,
        )
        payment.refunded_amount += extra
        _refund_succeeded(payment, refund, now)
    return WebhookResult(200, WebhookOutcome.PROCESSED, "Refund total reconciled.")


def _refund_made_elsewhere(
    payment: Payment, gateway: str, event: WebhookEvent, now: datetime
) -> WebhookResult:
    """A refund made in the provider's own dashboard: record it so the books agree."""
    capture = payment.captures.filter(gateway=gateway).first()
    amount = event.amount
    if capture is None or amount is None or amount > payment.refundable or amount < CENT:
        return WebhookResult(
            200, WebhookOutcome.UNMATCHED, "A refund that matches no capture or balance here."
        )
    refund = Refund.objects.create(
        company_id=payment.company_id,
        payment=payment,
        capture=capture,
        amount=amount,
        reason="Refunded at the provider",
        idempotency_key=derived_key(
            "provider_refund", gateway, event.provider_refund_id or event.event_id
        ),
        provider_refund_id=event.provider_refund_id,
        created_at=now,
        updated_at=now,
    )
    payment.refunded_amount += amount
    _refund_succeeded(payment, refund, now)
    return WebhookResult(200, WebhookOutcome.PROCESSED, "Refund made at the provider recorded.")


def _on_refund_failed(
    payment: Payment,
    attempt: PaymentAttempt | None,
    gateway: str,
    event: WebhookEvent,
    now: datetime,
) -> WebhookResult:
    refund = (
        Refund.objects.select_for_update()
        .filter(payment=payment, provider_refund_id=event.provider_refund_id)
        .first()
        if event.provider_refund_id
        else None
    )
    if refund is None or refund.status != RefundStatus.PENDING:
        return WebhookResult(200, WebhookOutcome.STALE, "No pending refund matches.")
    refund.status = RefundStatus.FAILED
    refund.updated_at = now
    refund.save(update_fields=["status", "updated_at"])
    payment.refunded_amount -= refund.amount
    payment.updated_at = now
    payment.save(update_fields=["refunded_amount", "updated_at"])
    publish(events.PAYMENT_REFUND_FAILED, _payment_payload(payment, refund=refund.public_id))
    return WebhookResult(200, WebhookOutcome.PROCESSED, "Refund failed; the balance is back.")


# --- Refunds --------------------------------------------------------------------------------


def _refund_succeeded(payment: Payment, refund: Refund, now: datetime) -> None:
    refund.status = RefundStatus.SUCCEEDED
    refund.updated_at = now
    refund.save(update_fields=["status", "updated_at"])
    settled = sum(
        (r.amount for r in payment.refunds.filter(status=RefundStatus.SUCCEEDED)), Decimal(0)
    )
    target = (
        PaymentStatus.REFUNDED
        if settled >= payment.captured_amount
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    if payment.can_move_to(target):
        payment.move_to(target, now)
    payment.updated_at = now
    payment.save()
    publish(
        events.PAYMENT_REFUNDED,
        _payment_payload(
            payment,
            refund=refund.public_id,
            refund_amount=refund.amount,
            gateway=refund.capture.gateway,
            refunded_at=now,
            capture=refund.capture.public_id,
            # A capture kept for review and refunded was never announced: the books never
            # took that money in, so they have nothing to give back.
            capture_announced=refund.capture.announced_at is not None,
        ),
    )


def refund_create(
    *,
    payment: Payment,
    amount: Any,
    reason: str = "",
    actor: User | None,
    idempotency_key: str | None = None,
    clock: Clock = timezone.now,
    http: HttpClients | None = None,
    capture: Capture | None = None,
) -> Refund:
    """Give money back through the gateway that captured it (`capture`, or the first with
    enough left).

    Three steps, no transaction open around the provider: the refund is recorded and its
    amount held against the balance (under the payment's row lock, so concurrent refunds never
    exceed what was captured; the CHECK on refunded <= captured is the second wall) and
    committed; the provider is called with the refund's idempotency key; the answer is
    recorded. The key is the caller's, else derived from the refund row, so a resend of the
    same refund can never pay out twice. A gateway that refuses or errors leaves nothing
    changed (the refund and its hold are removed) and raises RefundFailed.
    """
    money = _checked_amount(amount)
    # People give a reason wherever they ask (the API and the page require one); the refund
    # and its audit entry keep it.
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise _field_error("reason", "A reason has at most 200 characters.")
    key = (idempotency_key or "").strip()
    if len(key) > 64:
        raise _field_error("idempotency_key", "An idempotency key has at most 64 characters.")
    ensure_no_transaction("A refund (it calls the payment gateway)")
    now = clock()
    user = actor or current_user_id()
    with tenant_context(payment.company_id, user=user):
        locked = _locked(payment)
        earlier = Refund.objects.filter(idempotency_key=key).first() if key else None
        if earlier is not None:
            if (
                earlier.payment_id != locked.pk
                or earlier.amount != money
                or (capture is not None and earlier.capture_id != capture.pk)
            ):
                raise Conflict(
                    "This idempotency key was already used for a different refund.",
                    code="idempotency_key_reused",
                )
            # The same refund asked again (a retry, or a second request racing the first,
            # whose call may still be under way): never sent twice.
            return earlier
        capture = _refund_capture(locked, money, capture)
        refund = Refund(
            company_id=locked.company_id,
            payment=locked,
            capture=capture,
            amount=money,
            reason=reason,
            requested_by=actor,
            created_at=now,
            updated_at=now,
        )
        refund.idempotency_key = key or derived_key("refund", refund.public_id)
        refund.save()
        # Held against the balance before the call; updated_at moves with the answer.
        locked.refunded_amount += money
        locked.save(update_fields=["refunded_amount"])
        account = GatewayAccount.objects.filter(gateway=capture.gateway).first()
        if account is None:
            # Raising here rolls the refund back: nothing was sent.
            raise RefundFailed(
                f"The {capture.get_gateway_display()} gateway that took this payment is no "
                "longer set up; refund it in the provider's dashboard.",
                code="gateway_not_configured",
            )
    request = RefundRequest(
        provider_reference=capture.provider_reference,
        amount=money,
        currency=locked.currency,
        idempotency_key=refund.idempotency_key,
        reason=refund.reason,
    )
    try:
        gateway = _account_gateway(account, http)
        ensure_no_transaction("A gateway call")
        with between_transactions(locked.company_id, user=user):
            result = gateway.refund(request)
    except (GatewayError, UnreadableCredentials) as error:
        logger.warning("payments.refund_failed", gateway=capture.gateway, error=str(error))
        _refund_not_taken(refund, now, user)
        raise RefundFailed(
            f"{capture.get_gateway_display()} did not take the refund: {error}",
            code="gateway_unavailable" if isinstance(error, GatewayUnavailable) else None,
        ) from error
    with tenant_context(payment.company_id, user=user):
        locked = _locked(payment)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        refund.provider_refund_id = result.provider_refund_id
        refund.response = dict(result.raw)
        refund.save(update_fields=["provider_refund_id", "response"])
        locked.updated_at = now
        locked.save(update_fields=["updated_at"])
        audit_record(
            action="payment.refund_requested",
            obj=locked,
            changes={
                "refund": [None, str(refund.public_id)],
                "amount": [None, str(money)],
                "reason": [None, refund.reason],
            },
            actor=actor,
        )
        if result.succeeded and refund.status == RefundStatus.PENDING:
            _refund_succeeded(locked, refund, now)
    return refund


def _refund_capture(payment: Payment, money: Decimal, capture: Capture | None) -> Capture:
    """The capture a new refund goes back through, after the balance checks."""
    if payment.captured_amount == 0:
        raise RefundNotAllowed("Nothing was captured for this payment, so nothing to refund.")
    if money > payment.refundable:
        raise RefundNotAllowed(
            f"At most {format_sgd(payment.refundable)} can still be refunded.",
            code="refund_exceeds_balance",
            details=[
                {
                    "field": "amount",
                    "code": "exceeds_balance",
                    "requested": str(money),
                    "refundable": str(payment.refundable),
                }
            ],
        )
    if capture is None:
        return _capture_for(payment, money)
    if capture.payment_id != payment.pk or _capture_refundable(capture) < money:
        raise RefundNotAllowed(
            "That capture does not have so much left to refund.",
            code="refund_exceeds_capture",
        )
    return capture


def _refund_not_taken(refund: Refund, now: datetime, user: int | User | None) -> None:
    """The provider refused or failed: remove the refund and give its hold back, so nothing
    changed. A resend of the same refund derives the same key again."""
    with tenant_context(refund.company_id, user=user):
        locked = _locked(refund.payment)
        if Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).delete()[0]:
            locked.refunded_amount -= refund.amount
            locked.save(update_fields=["refunded_amount"])


def _capture_refundable(capture: Capture) -> Decimal:
    refunded = sum(
        (r.amount for r in capture.refunds.exclude(status=RefundStatus.FAILED)), Decimal(0)
    )
    return capture.amount - refunded


def _review_key(payment: Payment, capture: Capture) -> str:
    """The idempotency key of a review's refund of one capture: (payment, capture, purpose),
    the purpose being the review and its reason."""
    return derived_key(
        "review_refund",
        payment.public_id,
        capture.gateway,
        capture.provider_reference,
        payment.review_reason,
    )


def _review_refunds(payment: Payment) -> list[tuple[Capture, Decimal]]:
    """What a review's "refund it" still gives back, capture by capture: for a payment paid
    twice, the money beyond what was owed (newest capture first); otherwise everything left.
    For a payment paid twice, what an earlier, interrupted "refund it" already gave back
    counts as given."""
    captures = list(payment.captures.order_by("-created_at", "-id"))
    owed_back = payment.refundable
    if payment.review_reason == ReviewReason.PAID_TWICE:
        given = sum(
            (
                r.amount
                for r in Refund.objects.filter(
                    payment=payment, idempotency_key__in=[_review_key(payment, c) for c in captures]
                ).exclude(status=RefundStatus.FAILED)
            ),
            Decimal(0),
        )
        owed_back = min(owed_back, payment.captured_amount - payment.amount - given)
    plan = []
    for capture in captures:
        if owed_back <= 0:
            break
        take = min(_capture_refundable(capture), owed_back)
        if take > 0:
            plan.append((capture, take))
            owed_back -= take
    return plan


def review_refund_amount(payment: Payment) -> Decimal:
    """What "refund it" on a payment under review would give back."""
    return sum((amount for _, amount in _review_refunds(payment)), Decimal(0))


def _capture_for(payment: Payment, amount: Decimal) -> Capture:
    """The capture that still has `amount` left to refund (the first, in order)."""
    for capture in payment.captures.order_by("created_at", "id"):
        if _capture_refundable(capture) >= amount:
            return capture
    raise RefundNotAllowed(
        "No single capture has that much left; refund each capture separately.",
        code="refund_exceeds_capture",
    )


# --- Staff review of money that arrived when it should not have -----------------------------


def payment_review_accept(
    *, payment: Payment, actor: User | None, clock: Clock = timezone.now
) -> Payment:
    """Keep the late or odd capture: the payment counts as captured."""
    now = clock()
    with tenant_context(payment.company_id, user=actor or current_user_id()):
        locked = _locked(payment)
        if not locked.review_reason:
            raise Conflict("This payment has nothing waiting for review.", code="nothing_to_review")
        reason = locked.review_reason
        locked.review_reason = ReviewReason.NONE
        if locked.can_move_to(PaymentStatus.CAPTURED):
            locked.move_to(PaymentStatus.CAPTURED, now)
        locked.updated_at = now
        locked.save()
        audit_record(
            action="payment.review_accepted",
            obj=locked,
            changes={"review_reason": [reason, ""]},
            actor=actor,
        )
        # The money kept is announced capture by capture, each once: a payment paid twice
        # announces only its second capture here. What a review refunded in full is not.
        for capture in locked.captures.filter(announced_at__isnull=True).order_by("id"):
            if _capture_refundable(capture) > 0:
                _announce_capture(locked, capture, now)
    return locked


def payment_review_refund(
    *,
    payment: Payment,
    actor: User | None,
    clock: Clock = timezone.now,
    http: HttpClients | None = None,
) -> Refund:
    """Give back what a payment waiting for review owes back, one refund per capture.

    Each refund is recorded, sent and committed on its own with a key derived from (payment,
    capture, purpose): if one fails, those before it stay done and the review stays open, and
    "refund it" again sends only what is left, under the same keys.
    """
    ensure_no_transaction("A review refund (it calls the payment gateway)")
    user = actor or current_user_id()
    with tenant_context(payment.company_id, user=user):
        locked = _locked(payment)
        if not locked.review_reason:
            raise Conflict("This payment has nothing waiting for review.", code="nothing_to_review")
        reason = locked.review_reason
        plan = _review_refunds(locked)
    if not plan:
        raise RefundNotAllowed("Nothing is left to refund on this payment.")
    refunds = [
        refund_create(
            payment=locked,
            amount=amount,
            reason=f"Review: {ReviewReason(reason).label}",
            actor=actor,
            idempotency_key=_review_key(locked, capture),
            clock=clock,
            http=http,
            capture=capture,
        )
        for capture, amount in plan
    ]
    with tenant_context(payment.company_id, user=user):
        locked = _locked(payment)
        if locked.review_reason == reason:
            locked.review_reason = ReviewReason.NONE
            locked.save(update_fields=["review_reason"])
            audit_record(
                action="payment.review_refunded",
                obj=locked,
                changes={"review_reason": [reason, ""]},
                actor=actor,
            )
    return refunds[-1]


# --- The sandbox provider's side ---------------------------------------------------------------


SANDBOX_OUTCOMES = ("paid", "failed")


def sandbox_charge_settle(
    *,
    company: Company,
    provider_reference: str,
    outcome: str,
    clock: Clock = timezone.now,
    http: HttpClients | None = None,
) -> int:
    """What the sandbox checkout's "Pay" and "Fail" buttons do: the provider settles its charge
    and notifies the shop's webhook over HTTP. Pressing the same button again resends the
    notification (as a provider retries). Returns the shop's HTTP status."""
    if outcome not in SANDBOX_OUTCOMES:
        raise _field_error("outcome", "Choose paid or failed.")
    now = clock()
    with tenant_context(company):
        account = selectors.webhook_account(company=company, gateway=GatewayName.SANDBOX)
        if account is None:
            raise NotFound("The sandbox is not available for this shop.", code="unknown_endpoint")
        charge = (
            SandboxCharge.objects.select_for_update()
            .filter(provider_reference=provider_reference)
            .first()
        )
        if charge is None:
            raise NotFound("The sandbox has no such charge.", code="charge_not_found")
        if charge.status not in ("pending", outcome):
            raise Conflict(
                f"This sandbox charge is already {charge.status}.", code="charge_settled"
            )
        charge.status = outcome
        charge.save(update_fields=["status"])
        gateway = SandboxGateway(
            unseal(account.credentials_encrypted), http=(http or {}).get(GatewayName.SANDBOX)
        )
    ensure_no_transaction("The sandbox's webhook call")
    try:
        response = gateway.notify(charge, outcome, now=now)
    except httpx.HTTPError as error:
        raise GatewaysUnavailable(
            f"The sandbox could not reach the shop's webhook ({error}); press the button again.",
            code="webhook_unreachable",
        ) from error
    return response.status_code
