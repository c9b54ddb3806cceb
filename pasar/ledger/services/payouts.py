"""Gateway payouts: a settlement statement recorded by finance. The money customers paid sits
in payment clearing from the sale until the gateway pays it out; the payout moves what
reached the bank there, and books the fees the gateway kept, with the GST it charged on them
(claimable input tax, code TX), as an expense."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from pasar.core.audit import audit_record
from pasar.core.errors import Conflict, DomainError
from pasar.core.tenant import id_of, tenant_context
from pasar.ledger import chart
from pasar.ledger.models import GatewayPayout
from pasar.ledger.services.journals import ZERO, Line, entry_post
from pasar.tenancy.models import Company, User

CLAIMABLE = "TX"


def payout_record(
    *,
    company: Company,
    gateway: str,
    reference: str,
    paid_on: date,
    gross: Decimal,
    fee: Decimal,
    fee_gst: Decimal,
    actor: User,
    today: date | None = None,
) -> GatewayPayout:
    """Record a payout as its statement shows it; the same payout twice is refused."""
    if not gateway.strip() or not reference.strip():
        raise DomainError("Name the gateway and the payout's reference.", code="reference_required")
    if paid_on > (today or timezone.localdate()):
        raise DomainError("A payout is dated the day it reached the bank.", code="future_date")
    if gross <= 0 or fee < 0 or fee_gst < 0:
        raise DomainError(
            "The gross is above zero; fees and their GST are not negative.", code="invalid_amount"
        )
    net = gross - fee - fee_gst
    if net < 0:
        raise DomainError("The fees are more than the payout's gross.", code="invalid_amount")
    registered = company.gst_registered
    with tenant_context(company, all_or_nothing=True):
        if GatewayPayout.objects.filter(
            gateway=gateway.strip(), reference=reference.strip()
        ).exists():
            raise Conflict(
                f"{gateway} payout {reference} was recorded already.", code="payout_exists"
            )
        lines = [Line(account=chart.BANK, debit=net, description=f"{gateway} payout {reference}")]
        if fee > 0:
            lines.append(
                Line(
                    account=chart.GATEWAY_FEES,
                    # GST a company not registered for GST cannot claim is part of the fee.
                    debit=fee + (ZERO if registered else fee_gst),
                    tax_code=CLAIMABLE if registered else "",
                    tax_base=fee if registered else ZERO,
                )
            )
        if fee_gst > 0 and registered:
            lines.append(
                Line(account=chart.GST_INPUT, debit=fee_gst, tax_code=CLAIMABLE, tax=fee_gst)
            )
        lines.append(Line(account=chart.PAYMENT_CLEARING, credit=gross))
        entry = entry_post(
            company=company,
            day=paid_on,
            description=f"{gateway.strip()} payout {reference.strip()}"[:200],
            source="payout",
            reference=reference.strip()[:60],
            lines=[line for line in lines if line.debit > 0 or line.credit > 0],
            actor=actor,
        )
        payout = GatewayPayout.objects.create(
            company_id=id_of(company),
            gateway=gateway.strip()[:40],
            reference=reference.strip()[:60],
            paid_on=paid_on,
            gross=gross,
            fee=fee,
            fee_gst=fee_gst,
            net=net,
            entry=entry,
            created_by=actor,
            created_at=timezone.now(),
        )
        audit_record(action="ledger.payout_recorded", obj=payout, actor=actor)
    return payout
