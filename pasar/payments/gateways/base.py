"""The one interface every payment gateway implements, and the plain values that cross it.

A gateway turns a charge request into a provider-side payment, refunds what it captured, tells
the current state of a payment when asked, and turns a provider's webhook (raw bytes and
headers) into a `WebhookEvent` after checking its signature. Nothing here knows the payments
models: services translate between these values and the database, so a gateway can be tested
with an HTTP fake alone.

Amounts are `Decimal` in major units (dollars) with two places; a gateway converts to what its
provider wants (Stripe: integer cents).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol


class GatewayName(StrEnum):
    STRIPE = "stripe"
    HITPAY = "hitpay"
    TWOC2P = "twoc2p"
    SANDBOX = "sandbox"


class Method(StrEnum):
    """How the shopper pays; a gateway offers some of these."""

    PAYNOW = "paynow"
    CARD = "card"
    GRABPAY = "grabpay"


class ChargeStatus(StrEnum):
    """A provider's payment as the payments context sees it."""

    PENDING = "pending"  # created, waiting for the shopper
    AUTHORISED = "authorised"  # card authorised, not yet captured
    CAPTURED = "captured"  # money taken
    FAILED = "failed"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    """What a verified webhook means for the payment it names."""

    AUTHORISED = "authorised"
    CAPTURED = "captured"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"  # a refund succeeded at the provider
    REFUND_FAILED = "refund_failed"
    DISPUTED = "disputed"
    IGNORED = "ignored"  # verified, but nothing the payments context acts on


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: str  # the payment's public UUID, as text; providers echo it back as metadata
    reference: str  # the payable's reference, e.g. an order number; shown to the payer
    amount: Decimal
    currency: str  # ISO 4217, upper case
    expires_at: datetime
    description: str
    methods: tuple[Method, ...]
    idempotency_key: str  # one per attempt: a retry of the same attempt repeats it
    webhook_url: str  # where the provider should notify
    return_url: str  # where the shopper goes after paying
    merchant_name: str = ""
    paynow_uen: str = ""  # for a PayNow QR the gateway renders itself (sandbox)


@dataclass(frozen=True)
class ChargeResult:
    provider_reference: str  # the provider's id for this payment (PaymentIntent id, ...)
    status: ChargeStatus
    checkout_url: str = ""  # a hosted page to send the shopper to, when the provider has one
    paynow_payload: str = ""  # an EMVCo PayNow payload to show as a QR, when given
    amount: Decimal | None = None  # what the provider says it captured, when it says
    raw: Mapping[str, Any] = field(default_factory=dict)  # the provider's answer, kept


@dataclass(frozen=True)
class RefundRequest:
    provider_reference: str  # the captured payment's provider id
    amount: Decimal
    currency: str
    idempotency_key: str
    reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    succeeded: bool  # False while the provider still processes it (a webhook will say)
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str  # the provider's unique id for this notification: the deduplication key
    kind: EventKind
    provider_reference: str  # the payment it is about ("" when it names none)
    payment_id: str = ""  # our payment's public id, when the provider echoes it back
    amount: Decimal | None = None  # captured or refunded amount, major units
    currency: str = ""
    provider_refund_id: str = ""
    # True when `amount` of a REFUNDED event is the charge's running total of refunds (HitPay's
    # charge.updated), not the amount of one refund.
    amount_is_refunded_total: bool = False
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class GatewayError(Exception):
    """Base of everything a gateway raises. `raw` keeps what the provider answered, if any."""

    def __init__(self, message: str, *, raw: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.raw: Mapping[str, Any] = raw or {}


class GatewayUnavailable(GatewayError):
    """Timeout, connection failure, 5xx or rate limit: the next gateway may be tried."""


class GatewayRejected(GatewayError):
    """The provider refused the request itself (4xx other than auth): retrying elsewhere with
    the same data is not expected to help, but the orchestrator may still fall through."""


class GatewayCredentialsInvalid(GatewayError):
    """The provider refused our credentials (401/403): the shop must fix its settings."""


class WebhookRejected(GatewayError):
    """A webhook that must not be acted on. Subclasses say why; all answer 400."""


class InvalidSignature(WebhookRejected):
    pass


class StaleWebhook(WebhookRejected):
    """Signed correctly but outside the timestamp tolerance: possibly a replay."""


class MalformedWebhook(WebhookRejected):
    pass


@dataclass(frozen=True)
class CredentialField:
    """One setting a shop enters for a gateway. Secret ones are stored encrypted and shown
    again only as their last four characters."""

    name: str
    label: str
    secret: bool = True
    help_text: str = ""


class Gateway(Protocol):
    """One provider, configured for one company with that company's credentials.

    Implementations are built as `Cls(credentials, http=None, live=False)`: `credentials` maps
    each `credential_fields` name to its value; `http` is an `httpx.Client` (tests pass one
    with a fake transport; by default the gateway makes its own with the timeouts in
    settings); `live` picks the provider's live host instead of its sandbox host.
    """

    name: GatewayName
    methods: tuple[Method, ...]
    credential_fields: tuple[CredentialField, ...]

    def __init__(
        self, credentials: Mapping[str, str], *, http: Any = None, live: bool = False
    ) -> None: ...

    def create_charge(self, request: ChargeRequest) -> ChargeResult: ...

    def inquire(self, provider_reference: str) -> ChargeResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> WebhookEvent:
        """Verify the signature over the raw body first, then parse. Raises WebhookRejected."""
        ...
