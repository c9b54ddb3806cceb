"""The demo shop's payments: the sandbox gateway turned on and a week of payments in every
state a shop owner meets (paid, part refunded, failed, expired, waiting, paid too late).

Each payment goes the real way: created, started at the sandbox, settled by the sandbox's
"Pay" or "Fail", whose signed webhook is handed straight to the webhook service (there is no
server to post to while seeding), with the services' clock set in the past.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.utils import timezone

from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import GatewayAccount
from pasar.tenancy.models import Company, User

DEMO_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class DemoPayment:
    reference: str
    amount: str
    description: str
    days_ago: float
    outcome: str  # "paid", "failed", "open", "expired", "late"
    refund: str = ""  # an amount refunded a day later
    ttl: timedelta = timedelta(minutes=30)


DEMO_PAYMENTS = [
    DemoPayment("LINK-0101", "38.50", "Kopi O beans 500 g, enamel mug", 6, "paid"),
    DemoPayment("LINK-0102", "124.00", "Pour-over starter set", 5, "paid", refund="24.00"),
    DemoPayment("LINK-0103", "16.90", "Kaya jam gift jar", 4, "failed"),
    DemoPayment("LINK-0104", "59.80", "Two Tiong Bahru tote bags", 3, "expired"),
    DemoPayment("LINK-0105", "22.40", "Drip bags, 10 pack", 2, "paid", refund="22.40"),
    DemoPayment("LINK-0106", "45.00", "Hainanese coffee gift box", 1.5, "late"),
    DemoPayment("LINK-0107", "88.00", "Cold brew kit", 1, "paid"),
    DemoPayment("LINK-0108", "19.90", "Kopi C beans 250 g", 0, "open", ttl=timedelta(days=7)),
]


def delivered_in_process(company: Company, clock: Callable[[], datetime]) -> httpx.Client:
    """An HTTP client whose webhook posts reach the webhook service directly."""

    def deliver(request: httpx.Request) -> httpx.Response:
        result = services.webhook_receive(
            company_public_id=str(company.public_id),
            gateway="sandbox",
            body=request.content,
            headers=dict(request.headers),
            remote_addr="127.0.0.1",
            clock=clock,
        )
        return httpx.Response(result.status_code, json={"outcome": result.outcome})

    return httpx.Client(transport=httpx.MockTransport(deliver))


def seed_payments(company: Company, owner: User) -> str | None:
    """Turn on the sandbox and add the demo payments; None when they are already there."""
    with tenant_context(company):
        if GatewayAccount.objects.filter(gateway="sandbox").exists():
            return None
    services.sandbox_enable(company=company, actor=owner)
    now = timezone.now()
    for demo in DEMO_PAYMENTS:
        _seed_one(company, owner, demo, now)
    return f"{len(DEMO_PAYMENTS)} payments through the sandbox gateway of {company.legal_name}"


def _seed_one(company: Company, owner: User, demo: DemoPayment, now: datetime) -> None:
    created = now - timedelta(days=demo.days_ago)

    def at(offset: timedelta = timedelta(0)) -> Callable[[], datetime]:
        return lambda: created + offset

    payment = services.payment_create(
        company=company,
        reference=demo.reference,
        amount=demo.amount,
        description=demo.description,
        ttl=demo.ttl,
        actor=owner,
        clock=at(),
    )
    pay_url = f"{DEMO_BASE_URL}/pay/{company.public_id}/{payment.public_id}/"
    started = services.payment_start(
        payment=payment, method="paynow", base_url=DEMO_BASE_URL, return_url=pay_url, clock=at()
    )
    if demo.outcome == "open":
        return
    if demo.outcome == "expired":
        services.payments_expire_overdue(clock=at(timedelta(hours=1)))
        return
    settle_at = at(timedelta(hours=2) if demo.outcome == "late" else timedelta(minutes=4))
    if demo.outcome == "late":
        services.payments_expire_overdue(clock=at(timedelta(hours=1)))
    services.sandbox_charge_settle(
        company=company,
        provider_reference=started.attempt.provider_reference,
        outcome="failed" if demo.outcome == "failed" else "paid",
        clock=settle_at,
        http={"sandbox": delivered_in_process(company, settle_at)},
    )
    if demo.refund:
        services.refund_create(
            payment=payment,
            amount=demo.refund,
            reason="Demo: customer returned an item",
            actor=owner,
            clock=at(timedelta(days=1)),
        )
