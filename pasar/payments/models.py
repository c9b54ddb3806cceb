"""Payments: what is owed (a payment for a payable), each try at a gateway, what was taken and
what was given back, the gateways a shop has set up, and every webhook that reached us.

The state machine lives here (`TRANSITIONS`, `Payment.move_to`); docs/payments.md draws it.
The payments context knows a payable only by its reference (an order number, say): it never
reads orders.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from pasar.core.errors import Conflict
from pasar.core.money import money_field
from pasar.core.tenant import PublicIdMixin, TenantModel
from pasar.payments.gateways.base import GatewayName


class GatewayChoice(models.TextChoices):
    STRIPE = GatewayName.STRIPE.value, "Stripe"
    HITPAY = GatewayName.HITPAY.value, "HitPay"
    TWOC2P = GatewayName.TWOC2P.value, "2C2P"
    SANDBOX = GatewayName.SANDBOX.value, "Sandbox (no real money)"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORISED = "authorised", "Authorised"
    CAPTURED = "captured", "Captured"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


S = PaymentStatus
# Every move a payment may make. Anything else is refused, which is also how a late or
# out-of-order webhook (failed after captured) leaves a captured payment as it is.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.AUTHORISED, S.CAPTURED, S.FAILED, S.EXPIRED, S.CANCELLED}),
    S.AUTHORISED: frozenset({S.CAPTURED, S.FAILED, S.EXPIRED, S.CANCELLED}),
    # A failed try can be followed by another try at the same payable.
    S.FAILED: frozenset({S.PENDING, S.AUTHORISED, S.CAPTURED, S.EXPIRED, S.CANCELLED}),
    S.CAPTURED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    # Money that arrives after expiry or cancellation is kept for a staff decision (see
    # `review_reason`): accepting it captures, refunding it ends refunded.
    S.EXPIRED: frozenset({S.CAPTURED, S.REFUNDED}),
    S.CANCELLED: frozenset({S.CAPTURED, S.REFUNDED}),
    S.REFUNDED: frozenset(),
}
OPEN_STATUSES = frozenset({S.PENDING, S.AUTHORISED, S.FAILED})
# Statuses in which the shopper is offered a way to pay (again); an authorised card waits.
OFFER_STATUSES = frozenset({S.PENDING, S.FAILED})


class ReviewReason(models.TextChoices):
    NONE = "", "None"
    CAPTURED_AFTER_EXPIRY = "captured_after_expiry", "Paid after the payment expired"
    CAPTURED_AFTER_CANCEL = "captured_after_cancel", "Paid after the payment was cancelled"
    AMOUNT_MISMATCH = "amount_mismatch", "Paid a different amount than asked"
    PAID_TWICE = "paid_twice", "Paid more than once"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class Payment(PublicIdMixin, TenantModel):
    """The money owed for one payable, and where it stands."""

    reference = models.CharField(max_length=25)
    description = models.CharField(max_length=200, blank=True)
    amount = money_field()
    currency = models.CharField(max_length=3, default="SGD")
    expires_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    captured_amount = money_field(default=Decimal(0))
    # Counts refunds asked for and not failed, so two refunds at once cannot both pass.
    refunded_amount = money_field(default=Decimal(0))
    review_reason = models.CharField(
        max_length=30, choices=ReviewReason.choices, blank=True, default=""
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    captured_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering: ClassVar[list[str]] = ["-created_at"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "reference"], name="payment_reference"),
            models.CheckConstraint(condition=Q(amount__gte=Decimal("0.01")), name="payment_amount"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payment_currency_code"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_known"
            ),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0), name="payment_captured_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("captured_amount")),
                name="payment_refunds_within_captured",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["company", "status", "expires_at"], name="payment_open_by_expiry"),
            models.Index(fields=["company", "-created_at"], name="payment_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.currency} {self.amount})"

    @property
    def refundable(self) -> Decimal:
        return self.captured_amount - self.refunded_amount

    def is_overdue(self, now: datetime) -> bool:
        return self.status in OPEN_STATUSES and self.expires_at <= now

    def can_move_to(self, status: str) -> bool:
        return status in TRANSITIONS[self.status]

    def move_to(self, status: str, now: datetime) -> None:
        if not self.can_move_to(status):
            raise IllegalTransition(
                f"A payment that is {self.get_status_display().lower()} cannot become "
                f"{PaymentStatus(status).label.lower()}."
            )
        self.status = status
        self.updated_at = now


class AttemptStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    CREATED = "created", "Created at the gateway"
    ERROR = "error", "Gateway error"
    SKIPPED = "skipped", "Skipped (circuit open)"


class PaymentAttempt(PublicIdMixin, TenantModel):
    """One try at one gateway, with what the provider answered."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="attempts")
    gateway = models.CharField(max_length=10, choices=GatewayChoice.choices)
    method = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=AttemptStatus.choices)
    idempotency_key = models.CharField(max_length=64)
    provider_reference = models.CharField(max_length=100, blank=True)
    checkout_url = models.URLField(max_length=500, blank=True)
    paynow_payload = models.CharField(max_length=512, blank=True)
    error_kind = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    response = models.JSONField(default=dict, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    # Money that came in through this attempt, when the caller has counted it (see
    # selectors.payment_detail): the attempt's status stays what the gateway said at creation.
    captured: Decimal | None = None

    class Meta(TenantModel.Meta):
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "gateway", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="attempt_provider_reference",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AttemptStatus.values), name="attempt_status_known"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["company", "payment"], name="attempt_payment"),
        ]

    @property
    def status_label(self) -> str:
        return "Paid" if self.captured else self.get_status_display()


class Capture(PublicIdMixin, TenantModel):
    """Money a gateway took for a payment. One per provider payment, however often told."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="captures")
    attempt = models.ForeignKey(
        PaymentAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    gateway = models.CharField(max_length=10, choices=GatewayChoice.choices)
    provider_reference = models.CharField(max_length=100)
    amount = money_field()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()
    # When `payment.captured` was published for it: once, when the shop keeps the money (at
    # once, or when staff accept it after review). None while it waits or was given back.
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "gateway", "provider_reference"], name="capture_once"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="capture_amount_positive"),
        ]


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending at the gateway"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(PublicIdMixin, TenantModel):
    """Money given back through the gateway that captured it."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="refunds")
    capture = models.ForeignKey(Capture, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    reason = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=64)
    provider_refund_id = models.CharField(max_length=100, blank=True)
    response = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0.01")), name="refund_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["company", "idempotency_key"], name="refund_idempotency_key"
            ),
        ]


class GatewayAccount(PublicIdMixin, TenantModel):
    """A gateway a shop has set up. Credentials are encrypted; only their hints are shown."""

    gateway = models.CharField(max_length=10, choices=GatewayChoice.choices)
    priority = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    live = models.BooleanField(default=False)
    credentials_encrypted = models.TextField(blank=True)
    # {field: "••••1234"}: what the settings page may show of each stored value.
    credential_hints = models.JSONField(default=dict, blank=True)
    credentials_rejected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        ordering: ClassVar[list[str]] = ["priority", "gateway"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "gateway"], name="gateway_once_per_company"),
        ]

    def __str__(self) -> str:
        return self.get_gateway_display()


class WebhookOutcome(models.TextChoices):
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate (already processed)"
    IGNORED = "ignored", "Verified, nothing to do"
    STALE = "stale", "Out of order, payment left as it was"
    UNMATCHED = "unmatched", "Verified, no payment matches"
    REJECTED = "rejected", "Rejected"


class WebhookLog(PublicIdMixin, TenantModel):
    """Every inbound webhook call, kept whether or not it verified."""

    gateway = models.CharField(max_length=10, choices=GatewayChoice.choices)
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=WebhookOutcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    event_id = models.CharField(max_length=200, blank=True)
    event_kind = models.CharField(max_length=20, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhooks"
    )
    headers = models.JSONField(default=dict)
    # Kept only for calls that verified: anyone can post unsigned junk here.
    body = models.TextField(blank=True)
    body_bytes = models.PositiveIntegerField(default=0)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering: ClassVar[list[str]] = ["-received_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["company", "-received_at"], name="webhook_log_recent"),
        ]


class ProcessedWebhookEvent(TenantModel):
    """A provider event already acted on: the row that makes a redelivery change nothing."""

    gateway = models.CharField(max_length=10, choices=GatewayChoice.choices)
    event_id = models.CharField(max_length=200)
    processed_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "gateway", "event_id"], name="webhook_event_once"
            ),
        ]


class SandboxCharge(TenantModel):
    """The sandbox gateway's own record of a charge, standing in for a provider's database."""

    provider_reference = models.CharField(max_length=100)
    payment_public_id = models.UUIDField()
    reference = models.CharField(max_length=25)
    amount = money_field()
    currency = models.CharField(max_length=3)
    paynow_payload = models.CharField(max_length=512)
    webhook_url = models.URLField(max_length=500)
    return_url = models.URLField(max_length=500)
    status = models.CharField(max_length=10, default="pending")
    refunded_amount = money_field(default=Decimal(0))
    created_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "provider_reference"], name="sandbox_charge_reference"
            ),
        ]


class PaymentPurpose(models.TextChoices):
    """Why a payment was opened, which decides how long it stays open by default."""

    CHECKOUT = "checkout", "Checkout (the shopper pays now)"
    LINK = "link", "Link sent by chat or email"


class PaymentSettings(TenantModel):
    """A company's payment defaults. A company with no row has the defaults below."""

    DEFAULT_LINK_TTL_MINUTES = 24 * 60
    DEFAULT_CHECKOUT_TTL_MINUTES = 30

    link_ttl_minutes = models.PositiveIntegerField(default=DEFAULT_LINK_TTL_MINUTES)
    checkout_ttl_minutes = models.PositiveIntegerField(default=DEFAULT_CHECKOUT_TTL_MINUTES)
    updated_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        verbose_name_plural = "payment settings"
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company"], name="payment_settings_once_per_company"),
            models.CheckConstraint(
                condition=Q(link_ttl_minutes__gte=1, link_ttl_minutes__lte=30 * 24 * 60)
                & Q(checkout_ttl_minutes__gte=1, checkout_ttl_minutes__lte=30 * 24 * 60),
                name="payment_settings_ttl_in_range",
            ),
        ]

    def ttl_minutes(self, purpose: str) -> int:
        return (
            self.link_ttl_minutes if purpose == PaymentPurpose.LINK else self.checkout_ttl_minutes
        )
