"""The topics payments publishes (see pasar/core/event_contracts.py and docs/events.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypedDict
from uuid import UUID

from pasar.core.event_contracts import declare


class PaymentState(TypedDict):
    payment: UUID
    reference: str
    amount: Decimal
    currency: str
    status: str
    captured_amount: Decimal
    refunded_amount: Decimal


class PaymentCreated(PaymentState):
    expires_at: datetime | None


class PaymentExpired(PaymentState):
    expired_at: datetime


class PaymentFailed(PaymentState):
    gateway: str


class PaymentReviewNeeded(PaymentState):
    gateway: str
    review_reason: str
    captured: Decimal


class PaymentRefunded(PaymentState):
    refund: UUID
    refund_amount: Decimal
    gateway: str
    refunded_at: datetime  # when the money went back: the credit note's date
    capture: UUID  # the capture the money went back from
    capture_announced: bool  # whether that capture was announced (payment.captured)


class PaymentRefundFailed(PaymentState):
    refund: UUID


class PaymentCaptured(TypedDict):
    capture: UUID
    payment: UUID
    reference: str
    company: UUID
    amount: Decimal
    currency: str
    gateway: str
    captured_at: datetime


PAYMENT_CREATED = declare(
    "payment.created", PaymentCreated, description="A payable was opened for a reference."
)
PAYMENT_CAPTURED = declare(
    "payment.captured",
    PaymentCaptured,
    description="Money the shop keeps was captured: once per capture (docs/events.md).",
)
PAYMENT_FAILED = declare("payment.failed", PaymentFailed, description="Every attempt failed.")
PAYMENT_EXPIRED = declare(
    "payment.expired", PaymentExpired, description="Not paid before it expired."
)
PAYMENT_CANCELLED = declare(
    "payment.cancelled", PaymentState, description="Staff cancelled the payable."
)
PAYMENT_REVIEW_NEEDED = declare(
    "payment.review_needed",
    PaymentReviewNeeded,
    description="A capture was kept for review: late, paid twice or the wrong amount.",
)
PAYMENT_REFUNDED = declare(
    "payment.refunded",
    PaymentRefunded,
    description="A refund succeeded (`refund_amount`, at `refunded_at`, from `capture`; "
    "`capture_announced` says whether that capture was ever announced as captured).",
    version=2,
)
PAYMENT_REFUND_FAILED = declare(
    "payment.refund_failed", PaymentRefundFailed, description="A refund was refused or failed."
)
