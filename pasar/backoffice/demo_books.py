"""The demo shop's books beyond what its sales and stock post by themselves: the owner's
opening capital, the roaster's and packers' bills for the goods received (clearing goods
received not invoiced), a year of rent and utilities, the bills paid when they fell due, and
the gateway's monthly payouts with their fees.
Together with the sales, refunds and stock movements, the year's trial balance, profit and
loss and F5 returns have something real to show.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from pasar.core.money import CENT
from pasar.core.singapore import gst_rate_on
from pasar.core.tenant import tenant_context
from pasar.gst import services as gst_services
from pasar.inventory.models import PurchaseReceipt
from pasar.ledger import selectors as ledger_selectors
from pasar.ledger import services as ledger_services
from pasar.ledger.models import SupplierBill
from pasar.tenancy.models import Company, User

DAYS = 365
OPENING_CAPITAL = Decimal("60000.00")
RENT = Decimal("450.00")  # a roastery's storage unit: the stall itself is on the owner's lease
LANDLORD = "Tiong Bahru Estates Pte. Ltd."
UTILITIES = "SP Services Ltd."
SANDBOX_FEE_RATE = Decimal("0.015")


def _month_starts(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    starts = []
    for _ in range(months):
        starts.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return sorted(starts)


def seed_books(company: Company, owner: User) -> str | None:
    """Add the demo company's capital, bills and bill payments; None when they are there."""
    with tenant_context(company):
        if SupplierBill.objects.exists():
            return None
        receipts = list(
            PurchaseReceipt.objects.filter(voided_at__isnull=True)
            .prefetch_related("lines")
            .order_by("received_at")
        )
    ledger_services.chart_install(company=company)
    today = timezone.localdate()
    dice = random.Random(f"pasar-demo-books:{company.shop_slug}")  # noqa: S311 - demo data
    ledger_services.journal_post_manual(
        company=company,
        day=today - timedelta(days=DAYS + 1),
        description="Share capital paid in by the owner",
        lines=[
            ledger_services.ManualLine(account_code="1000", debit=OPENING_CAPITAL),
            ledger_services.ManualLine(account_code="3000", credit=OPENING_CAPITAL),
        ],
        actor=owner,
        today=today,
    )
    bills: list[tuple[SupplierBill, date]] = []
    for receipt in receipts:
        value = sum(
            (line.quantity * line.unit_cost for line in receipt.lines.all()), Decimal(0)
        ).quantize(CENT, rounding=ROUND_HALF_UP)
        billed = min(timezone.localdate(receipt.received_at) + timedelta(days=1), today)
        bill = ledger_services.bill_enter(
            company=company,
            supplier_name=receipt.supplier_name,
            supplier_reference=f"INV-{receipt.reference or receipt.number}",
            bill_date=billed,
            due_date=billed + timedelta(days=30),
            description=f"Goods received on {receipt.number}",
            lines=[
                ledger_services.BillLineInput(
                    account_code="2050",
                    description=f"Goods delivered ({receipt.reference or receipt.number})",
                    amount=value,
                    tax_code="TX",
                )
            ],
            actor=owner,
            today=today,
        )
        bills.append((bill, bill.due_date))
    for month in _month_starts(today, 12):
        utilities = Decimal("40.00") + CENT * dice.randint(0, 4_000)
        for supplier, code, what, amount in (
            (LANDLORD, "6100", "Storage rent", RENT),
            (UTILITIES, "6900", "Electricity and water", utilities),
        ):
            bill = ledger_services.bill_enter(
                company=company,
                supplier_name=supplier,
                supplier_reference=f"{what[:4].upper()}-{month:%Y%m}",
                bill_date=month,
                due_date=month + timedelta(days=6),
                description=f"{what}, {month:%B %Y}",
                lines=[
                    ledger_services.BillLineInput(
                        account_code=code,
                        description=f"{what}, {month:%B %Y}",
                        amount=amount,
                        tax_code="TX",
                    )
                ],
                actor=owner,
                today=today,
            )
            bills.append((bill, bill.due_date))
    payouts = _payouts(company, owner, today)
    paid = 0
    for bill, due in bills:
        if due < today:
            ledger_services.bill_pay(
                company=company, bill=bill, amount=bill.total, paid_on=due, actor=owner, today=today
            )
            paid += 1
    filed = _file_returns(company, owner, today)
    return (
        f"{len(bills)} supplier bills ({paid} paid), {payouts} gateway payouts, {filed} GST "
        f"returns filed and the opening capital of {company.legal_name}"
    )


def _file_returns(company: Company, owner: User, today: date) -> int:
    """Every return of the year filed but the last ended period's: that one is left for the
    demo's finance to check box by box and file."""
    if not company.gst_registered:
        return 0
    periods = gst_services.periods_ended(company=company, today=today)[1:]
    for start, end in reversed(periods):
        gst_services.f5_file(company=company, start=start, end=end, actor=owner)
    return len(periods)


def _payouts(company: Company, owner: User, today: date) -> int:
    """The gateway pays out each month's takings early the next month, keeping its fee
    (SANDBOX_FEE_RATE, with GST on it): the demo's payment clearing empties into the bank."""
    takings = ledger_selectors.monthly_movement(company=company, role="payment_clearing")
    recorded = 0
    for month, gross in takings:
        paid_on = (month + timedelta(days=32)).replace(day=3)
        if gross <= 0 or paid_on > today:
            continue
        fee = (gross * SANDBOX_FEE_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
        ledger_services.payout_record(
            company=company,
            gateway="Sandbox",
            reference=f"PO-{month:%Y%m}",
            paid_on=paid_on,
            gross=gross,
            fee=fee,
            fee_gst=(fee * gst_rate_on(paid_on)).quantize(CENT, rounding=ROUND_HALF_UP),
            actor=owner,
            today=today,
        )
        recorded += 1
    return recorded
