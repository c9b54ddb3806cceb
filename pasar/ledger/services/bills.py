"""Supplier bills as finance enters them, and their payments.

A bill posts when it is entered: each line to its account (an expense, or goods received
not invoiced for stock already booked in by a goods receipt) with its purchase tax code and
value, its GST to GST input tax (claimable codes) or to the line's own account (BL: GST that
may not be claimed), and the total to trade payables. A payment moves money from the bank to
the supplier, never above what the bill still owes.

GST on a line is the bill date's standard rate on the line's value, rounded half-up to the
cent, as the supplier's tax invoice shows it line by line (gst.md, section 6).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from pasar.core import numbering
from pasar.core.audit import audit_record
from pasar.core.errors import Conflict, DomainError
from pasar.core.money import CENT
from pasar.core.singapore import gst_rate_on
from pasar.core.tenant import id_of, tenant_context
from pasar.ledger import chart
from pasar.ledger.models import (
    BILL_PREFIX,
    Account,
    AccountKind,
    BillPayment,
    SupplierBill,
    SupplierBillLine,
)
from pasar.ledger.services.journals import ZERO, Line, entry_post
from pasar.tenancy.models import Company, User

# Purchase codes a bill line may carry: with GST the supplier charged at the standard rate
# (claimable, or BL: not claimable), or without any.
CLAIMABLE_CODES = frozenset({"TX", "TX-E33", "TX-N33", "TX-RE"})
DISALLOWED_CODE = "BL"
NO_GST_CODES = frozenset({"ZP", "ME", "NR", "EP", "OP"})
BILL_CODES = CLAIMABLE_CODES | NO_GST_CODES | {DISALLOWED_CODE}


@dataclass(frozen=True)
class BillLineInput:
    account_code: str
    description: str
    amount: Decimal  # without GST
    tax_code: str


def line_gst(*, amount: Decimal, tax_code: str, bill_date: date, registered: bool) -> Decimal:
    if not registered or tax_code in NO_GST_CODES:
        return ZERO
    return (amount * gst_rate_on(bill_date)).quantize(CENT, rounding=ROUND_HALF_UP)


def _check_bill(
    *,
    supplier_name: str,
    bill_date: date,
    due_date: date,
    lines: Sequence[BillLineInput],
    today: date,
) -> None:
    if not supplier_name.strip():
        raise DomainError("Name the supplier.", code="supplier_required")
    if bill_date > today:
        raise DomainError(
            f"A bill is dated the day the supplier issued it, not in the future "
            f"({bill_date:%d %b %Y}).",
            code="future_date",
        )
    if due_date < bill_date:
        raise DomainError("A bill falls due on or after its date.", code="invalid_due_date")
    if not lines:
        raise DomainError("A bill has at least one line.", code="lines_required")
    for position, line in enumerate(lines, start=1):
        if line.amount <= 0:
            raise DomainError(
                f"Line {position}: the amount is above zero.",
                code="invalid_amount",
                details=[{"line": position, "field": "amount"}],
            )
        if line.tax_code not in BILL_CODES:
            raise DomainError(
                f"Line {position}: {line.tax_code or 'no code'} is not a purchase tax code a "
                f"bill may use ({', '.join(sorted(BILL_CODES))}).",
                code="unknown_tax_code",
                details=[{"line": position, "field": "tax_code"}],
            )


def bill_enter(
    *,
    company: Company,
    supplier_name: str,
    supplier_reference: str,
    bill_date: date,
    due_date: date,
    lines: Sequence[BillLineInput],
    actor: User,
    supplier_gst_number: str = "",
    description: str = "",
    today: date | None = None,
) -> SupplierBill:
    """Enter a supplier's bill and post it; the same supplier's invoice number twice is
    refused (entered already)."""
    _check_bill(
        supplier_name=supplier_name,
        bill_date=bill_date,
        due_date=due_date,
        lines=lines,
        today=today or timezone.localdate(),
    )
    registered = company.gst_registered
    with tenant_context(company, all_or_nothing=True):
        codes = {line.account_code for line in lines}
        accounts = {account.code: account for account in Account.objects.filter(code__in=codes)}
        for position, line in enumerate(lines, start=1):
            account = accounts.get(line.account_code)
            if account is None or not (
                account.kind in (AccountKind.EXPENSE, AccountKind.ASSET)
                or account.role == chart.GOODS_RECEIVED
            ):
                raise DomainError(
                    f"Line {position}: {line.account_code} is not an expense, asset or goods "
                    "received account.",
                    code="unknown_account",
                    details=[{"line": position, "field": "account"}],
                )
        if SupplierBill.objects.filter(
            supplier_name=supplier_name.strip(), supplier_reference=supplier_reference.strip()
        ).exists():
            raise Conflict(
                f"{supplier_name}'s invoice {supplier_reference} was entered already.",
                code="bill_exists",
            )
        taxes = [
            line_gst(
                amount=line.amount,
                tax_code=line.tax_code,
                bill_date=bill_date,
                registered=registered,
            )
            for line in lines
        ]
        subtotal = sum((line.amount for line in lines), ZERO)
        gst = sum(taxes, ZERO)
        number = numbering.next_number(company=company, prefix=BILL_PREFIX)
        postings: list[Line] = []
        claimable: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line, tax in zip(lines, taxes, strict=True):
            disallowed = line.tax_code == DISALLOWED_CODE
            postings.append(
                Line(
                    account=accounts[line.account_code],
                    debit=line.amount + (tax if disallowed else ZERO),
                    tax_code=line.tax_code if registered else "",
                    tax_base=line.amount if registered else ZERO,
                    description=line.description,
                )
            )
            if tax > 0 and not disallowed:
                claimable[line.tax_code] += tax
        postings += [
            Line(account=chart.GST_INPUT, debit=tax, tax_code=code, tax=tax)
            for code, tax in sorted(claimable.items())
        ]
        postings.append(
            Line(account=chart.PAYABLES, credit=subtotal + gst, description=supplier_name)
        )
        entry = entry_post(
            company=company,
            day=bill_date,
            description=f"Bill {supplier_reference} from {supplier_name.strip()}"[:200],
            source="bill",
            reference=number,
            lines=postings,
            actor=actor,
        )
        bill = SupplierBill.objects.create(
            company_id=id_of(company),
            number=number,
            supplier_name=supplier_name.strip()[:120],
            supplier_gst_number=supplier_gst_number.strip()[:20],
            supplier_reference=supplier_reference.strip()[:60],
            bill_date=bill_date,
            due_date=due_date,
            description=description.strip()[:200],
            subtotal=subtotal,
            gst=gst,
            total=subtotal + gst,
            entry=entry,
            created_by=actor,
            created_at=timezone.now(),
        )
        SupplierBillLine.objects.bulk_create(
            SupplierBillLine(
                company_id=bill.company_id,
                bill=bill,
                account=accounts[line.account_code],
                description=line.description[:200],
                amount=line.amount,
                tax_code=line.tax_code,
                gst=tax,
            )
            for line, tax in zip(lines, taxes, strict=True)
        )
        audit_record(action="ledger.bill_entered", obj=bill, actor=actor)
    return bill


def bill_pay(
    *,
    company: Company,
    bill: SupplierBill,
    amount: Decimal,
    paid_on: date,
    actor: User,
    today: date | None = None,
) -> BillPayment:
    """Record money paid to the supplier from the bank: never more than the bill still owes,
    never dated in the future or before the bill."""
    if amount <= 0:
        raise DomainError("A payment is for more than nothing.", code="invalid_amount")
    if paid_on > (today or timezone.localdate()):
        raise DomainError("A payment is dated today or earlier.", code="future_date")
    if paid_on < bill.bill_date:
        raise DomainError("A bill is paid on or after its date.", code="invalid_date")
    with tenant_context(company, all_or_nothing=True):
        locked = SupplierBill.objects.select_for_update().get(pk=bill.pk)
        if amount > locked.outstanding:
            raise DomainError(
                f"{locked.number} owes S${locked.outstanding:,.2f}; S${amount:,.2f} is more.",
                code="payment_above_bill",
                details=[{"field": "amount", "outstanding": f"{locked.outstanding:.2f}"}],
            )
        entry = entry_post(
            company=company,
            day=paid_on,
            description=f"Payment to {locked.supplier_name} for {locked.supplier_reference}"[:200],
            source="bill_payment",
            reference=locked.number,
            lines=[
                Line(account=chart.PAYABLES, debit=amount, description=locked.supplier_name),
                Line(account=chart.BANK, credit=amount),
            ],
            actor=actor,
        )
        payment = BillPayment.objects.create(
            company_id=id_of(company),
            bill=locked,
            paid_on=paid_on,
            amount=amount,
            entry=entry,
            created_by=actor,
            created_at=timezone.now(),
        )
        locked.paid += amount
        locked.save(update_fields=["paid"])
        audit_record(action="ledger.bill_paid", obj=payment, actor=actor)
    bill.paid = locked.paid
    return payment
