"""Random sequences of what can happen to a payment, checked against a plain model of the rules.

Signed Stripe webhooks (authorised, captured, failed, cancelled, and redeliveries of earlier
ones) arrive in any order, the expiry sweep runs as a fake clock moves, staff cancel, refund and
decide on flagged captures. After every step the database must agree with the model, and the
invariants hold: the status only ever moves along `TRANSITIONS`, refunds never exceed captures,
money once captured is never "pending" or "failed" again, each event id acts at most once, and
there is exactly one `payment.captured` event per capture accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pasar.core.errors import DomainError
from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    Capture,
    Payment,
    PaymentStatus,
    ProcessedWebhookEvent,
    ReviewReason,
    WebhookLog,
    WebhookOutcome,
)
from pasar.tenancy.models import Company
from tests.factories import CompanyFactory
from tests.payments.conftest import STRIPE_CREDENTIALS, FakeClock, stripe_attempt, stripe_webhook

S = PaymentStatus
AMOUNT = Decimal("50.00")
TTL = timedelta(minutes=30)
INTENTS = ("pi_first", "pi_second")
MONEY_TAKEN = frozenset({S.CAPTURED, S.PARTIALLY_REFUNDED, S.REFUNDED})
NOT_TAKEN = frozenset({S.PENDING, S.AUTHORISED, S.FAILED})

intents = st.sampled_from(INTENTS)
captured_amounts = st.sampled_from([AMOUNT, AMOUNT, AMOUNT, Decimal("45.00"), Decimal("60.00")])
refund_cents = st.integers(min_value=1, max_value=6_000)

# What each Stripe event type means here; the amount field of a capture is amount_received.
FAILURES = ("payment_intent.payment_failed", "payment_intent.canceled")


def stripe_refunds() -> httpx.Client:
    """Stripe taking every refund at once."""
    return httpx.Client(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(
                200, json={"id": f"re_{uuid.uuid4().hex[:24]}", "status": "succeeded"}
            )
        )
    )


def refusal(action: Callable[[], object]) -> str | None:
    """The code a service refused with, or None when it went through."""
    try:
        action()
    except DomainError as refused:
        return refused.code
    return None


@dataclass
class Model:
    """The rules of docs/payments.md, one step at a time, for one 50.00 payment."""

    expires_at: Any
    status: str = S.PENDING
    review: str = ReviewReason.NONE
    captures: dict[str, Decimal] = field(default_factory=dict)  # intent -> captured, in order
    refunded_by_capture: dict[str, Decimal] = field(default_factory=dict)
    captured_events: int = 0
    refunded_events: int = 0
    announced: set[str] = field(default_factory=set)  # captures payment.captured named

    @property
    def captured(self) -> Decimal:
        return sum(self.captures.values(), Decimal(0))

    @property
    def refunded(self) -> Decimal:
        return sum(self.refunded_by_capture.values(), Decimal(0))

    def capture(self, intent: str, amount: Decimal) -> str:
        if intent in self.captures:
            return WebhookOutcome.DUPLICATE
        before = self.status
        self.captures[intent] = amount
        if before == S.EXPIRED:
            self.review = ReviewReason.CAPTURED_AFTER_EXPIRY
        elif before == S.CANCELLED:
            self.review = ReviewReason.CAPTURED_AFTER_CANCEL
        elif before not in OPEN_STATUSES:
            self.review = ReviewReason.PAID_TWICE
        elif self.captured != AMOUNT:
            self.review = ReviewReason.AMOUNT_MISMATCH
        else:
            self.status = S.CAPTURED
            self.captured_events += 1
            self.announced.add(intent)
        return WebhookOutcome.PROCESSED

    def move_if_allowed(self, status: str) -> str:
        if self.status == status or status not in TRANSITIONS[self.status]:
            return WebhookOutcome.STALE
        self.status = status
        return WebhookOutcome.PROCESSED

    def review_refund(self) -> str | None:
        """Refund it: everything left, or for a payment paid twice only what was paid beyond
        the amount, newest capture first, one refund per capture."""
        owed = self.captured - self.refunded
        if self.review == ReviewReason.PAID_TWICE:
            owed = min(owed, self.captured - AMOUNT)
        if owed <= 0:
            return "refund_not_allowed"
        for intent in reversed(list(self.captures)):
            left = self.captures[intent] - self.refunded_by_capture.get(intent, Decimal(0))
            take = min(left, owed)
            if take > 0:
                assert self.refund(take, intent) is None
                owed -= take
        return None

    def refund(self, amount: Decimal, intent: str | None = None) -> str | None:
        """None when the refund goes through; otherwise the code it is refused with. Without
        `intent`, the first capture with enough left is refunded, as the service does."""
        if self.captured == 0:
            return "refund_not_allowed"
        if amount > self.captured - self.refunded:
            return "refund_exceeds_balance"
        capture = intent or next(
            (
                candidate
                for candidate, taken in self.captures.items()
                if taken - self.refunded_by_capture.get(candidate, Decimal(0)) >= amount
            ),
            None,
        )
        if capture is None:
            return "refund_exceeds_capture"
        self.refunded_by_capture[capture] = self.refunded_by_capture.get(capture, 0) + amount
        target = S.REFUNDED if self.refunded >= self.captured else S.PARTIALLY_REFUNDED
        if target in TRANSITIONS[self.status]:
            self.status = target
        self.refunded_events += 1
        return None


class PaymentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.company: Company = CompanyFactory.create()
        services.gateway_account_save(
            company=self.company, gateway="stripe", credentials=STRIPE_CREDENTIALS
        )
        self.payment = services.payment_create(
            company=self.company, reference="SO-000001", amount=AMOUNT, ttl=TTL, clock=self.clock
        )
        for intent in INTENTS:
            stripe_attempt(self.payment, intent)
        self.model = Model(expires_at=self.clock.now + TTL)
        self.sent: list[tuple[str, dict[str, Any]]] = []  # (event id, event body's object)
        self.statuses_seen: list[str] = [S.PENDING]

    # --- what happens ----------------------------------------------------------------------

    def deliver(self, event_type: str, obj: dict[str, Any], event_id: str | None = None) -> str:
        event_id = event_id or f"evt_{uuid.uuid4().hex[:24]}"
        body, headers = stripe_webhook(
            event_type, obj, event_id=event_id, at=self.clock.timestamp()
        )
        result = services.webhook_receive(
            company_public_id=str(self.company.public_id),
            gateway="stripe",
            body=body,
            headers=headers,
            clock=self.clock,
        )
        assert result.status_code == 200
        if all(sent_id != event_id for sent_id, _ in self.sent):
            self.sent.append((event_id, {"type": event_type, "object": obj}))
        return result.outcome

    @rule(intent=intents, amount=captured_amounts)
    def captured(self, intent: str, amount: Decimal) -> None:
        cents = int(amount * 100)
        obj = {"id": intent, "amount_received": cents, "currency": "sgd", "status": "succeeded"}
        outcome = self.deliver("payment_intent.succeeded", obj)
        assert outcome == self.model.capture(intent, amount)

    @rule(intent=intents, event_type=st.sampled_from(FAILURES))
    def failed(self, intent: str, event_type: str) -> None:
        outcome = self.deliver(event_type, {"id": intent, "status": "requires_payment_method"})
        assert outcome == self.model.move_if_allowed(S.FAILED)

    @rule(intent=intents)
    def authorised(self, intent: str) -> None:
        obj = {"id": intent, "amount_capturable": 5000, "status": "requires_capture"}
        outcome = self.deliver("payment_intent.amount_capturable_updated", obj)
        assert outcome == self.model.move_if_allowed(S.AUTHORISED)

    @precondition(lambda self: self.sent)
    @rule(pick=st.integers(min_value=0, max_value=1_000))
    def redelivered(self, pick: int) -> None:
        event_id, event = self.sent[pick % len(self.sent)]
        outcome = self.deliver(event["type"], event["object"], event_id=event_id)
        assert outcome == WebhookOutcome.DUPLICATE

    @rule(minutes=st.integers(min_value=1, max_value=40), on_read=st.booleans())
    def time_passes(self, minutes: int, on_read: bool) -> None:
        self.clock.advance(minutes=minutes)
        if on_read:
            services.payment_expire_if_due(self.payment, clock=self.clock)
        else:
            services.payments_expire_overdue(clock=self.clock)
        model = self.model
        overdue = model.status in OPEN_STATUSES and model.expires_at <= self.clock.now
        if overdue and model.captured == 0:
            model.status = S.EXPIRED

    @rule()
    def staff_cancel(self) -> None:
        refused = refusal(
            lambda: services.payment_cancel(payment=self.payment, actor=None, clock=self.clock)
        )
        if self.model.status in OPEN_STATUSES:
            assert refused is None
            self.model.status = S.CANCELLED
        else:
            assert refused == "payment_closed"

    @rule(cents=refund_cents)
    def refund(self, cents: int) -> None:
        amount = Decimal(cents) / 100
        refused = refusal(
            lambda: services.refund_create(
                payment=self.payment,
                amount=amount,
                actor=None,
                clock=self.clock,
                http={"stripe": stripe_refunds()},
            )
        )
        assert refused == self.model.refund(amount)

    @rule()
    def staff_accept(self) -> None:
        refused = refusal(
            lambda: services.payment_review_accept(
                payment=self.payment, actor=None, clock=self.clock
            )
        )
        model = self.model
        if not model.review:
            assert refused == "nothing_to_review"
            return
        assert refused is None
        model.review = ReviewReason.NONE
        if S.CAPTURED in TRANSITIONS[model.status]:
            model.status = S.CAPTURED
        # One event per capture kept, each once: those not yet announced with money left.
        for intent, amount in model.captures.items():
            left = amount - model.refunded_by_capture.get(intent, Decimal(0))
            if intent not in model.announced and left > 0:
                model.announced.add(intent)
                model.captured_events += 1

    # Refunding a flagged payment whose money was already all refunded answers with an amount
    # error (0.00 is not money) rather than a conflict; that corner is left out here.
    @precondition(lambda self: not self.model.review or self.model.captured > self.model.refunded)
    @rule()
    def staff_refund_review(self) -> None:
        model = self.model
        refused = refusal(
            lambda: services.payment_review_refund(
                payment=self.payment,
                actor=None,
                clock=self.clock,
                http={"stripe": stripe_refunds()},
            )
        )
        if not model.review:
            assert refused == "nothing_to_review"
            return
        assert refused == model.review_refund()
        if refused is None:
            model.review = ReviewReason.NONE

    # --- what must always be true ----------------------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        with tenant_context(self.company):
            stored = Payment.objects.get(pk=self.payment.pk)
            captures = dict(Capture.objects.values_list("provider_reference", "amount"))
        model = self.model
        assert stored.status == model.status
        assert stored.captured_amount == model.captured
        assert stored.refunded_amount == model.refunded
        assert stored.review_reason == model.review
        assert captures == model.captures

    @invariant()
    def status_moves_only_along_the_transitions(self) -> None:
        with tenant_context(self.company):
            status = Payment.objects.values_list("status", flat=True).get(pk=self.payment.pk)
        previous = self.statuses_seen[-1]
        assert status == previous or status in TRANSITIONS[previous]
        self.statuses_seen.append(status)
        if any(seen in MONEY_TAKEN for seen in self.statuses_seen):
            assert status not in NOT_TAKEN

    @invariant()
    def refunds_never_exceed_captures(self) -> None:
        with tenant_context(self.company):
            stored = Payment.objects.get(pk=self.payment.pk)
        assert 0 <= stored.refunded_amount <= stored.captured_amount

    @invariant()
    def each_event_acts_at_most_once(self) -> None:
        with tenant_context(self.company):
            processed = list(ProcessedWebhookEvent.objects.values_list("event_id", flat=True))
            acted = list(
                WebhookLog.objects.exclude(outcome=WebhookOutcome.DUPLICATE).values_list(
                    "event_id", flat=True
                )
            )
        assert sorted(processed) == sorted(event_id for event_id, _ in self.sent)
        assert len(acted) == len(set(acted))

    @invariant()
    def one_event_per_capture_accepted_and_per_refund(self) -> None:
        with tenant_context(self.company):
            topics = list(
                OutboxEvent.objects.filter(company=self.company).values_list("topic", flat=True)
            )
        assert topics.count("payment.captured") == self.model.captured_events
        assert topics.count("payment.refunded") == self.model.refunded_events


@pytest.mark.django_db
def test_any_sequence_of_events_keeps_the_payment_rules() -> None:
    run_state_machine_as_test(
        PaymentMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
