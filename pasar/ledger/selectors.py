"""Reads of the books: sums by tax code for the GST return and the lines behind them; balances
by account and month; what is owed to suppliers and by customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from pasar.core.tenant import tenant_context, tenant_rows
from pasar.ledger.chart import RECEIVABLES
from pasar.ledger.models import DEBIT_KINDS, Account, AccountKind, JournalLine, SupplierBill
from pasar.tenancy.models import Company

# What a return needs, in one pass over the period's lines by the (company, date, tax_code)
# index: the value and GST of each tax code, and the period's revenue (every income account,
# net of debits), whose accounts are looked up once (an init plan) rather than joined per line.
RETURN_SUMS_SQL = """
SELECT tax_code, sum(tax_base), sum(tax),
       coalesce(sum(credit - debit) FILTER (WHERE account_id = ANY(ARRAY(
           SELECT id FROM ledger_account WHERE company_id = %s AND kind = %s
       ))), 0)
FROM ledger_journalline
WHERE company_id = %s AND date BETWEEN %s AND %s
GROUP BY tax_code
"""


@dataclass(frozen=True)
class ReturnSums:
    by_code: dict[str, tuple[Decimal, Decimal]]  # tax code: (value without GST, GST)
    revenue: Decimal


def return_sums(*, company: Company, start: date, end: date) -> ReturnSums:
    """The sums a GST return is made of, over the lines dated from `start` to `end`."""
    rows = tenant_rows(
        company, RETURN_SUMS_SQL, [company.pk, AccountKind.INCOME, company.pk, start, end]
    )
    return ReturnSums(
        by_code={code: (base, tax) for code, base, tax, _ in rows if code},
        revenue=sum((income for *_, income in rows), Decimal("0.00")),
    )


def tax_lines(
    *, company: Company, start: date, end: date, codes: list[str]
) -> QuerySet[JournalLine]:
    """The lines behind some tax codes' sums, with their entries and accounts, in date order
    (needs the company's tenant context)."""
    return (
        JournalLine.objects.filter(
            company=company, date__gte=start, date__lte=end, tax_code__in=codes
        )
        .select_related("entry", "account")
        .order_by("date", "id")
    )


@dataclass(frozen=True)
class AccountBalance:
    """An account's debits and credits over a stretch of dates."""

    account_id: int
    code: str
    name: str
    kind: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Debit positive, credit negative."""
        return self.debit - self.credit

    @property
    def natural(self) -> Decimal:
        """The balance the way the account's kind is read: assets and expenses as debits,
        the others as credits (a sales account's S$100 of credits is S$100 of income)."""
        return self.balance if self.kind in DEBIT_KINDS else -self.balance


BALANCES_SQL = """
SELECT account.id, account.code, account.name, account.kind,
       coalesce(sum(line.debit), 0), coalesce(sum(line.credit), 0)
FROM ledger_account AS account
JOIN ledger_journalline AS line ON line.account_id = account.id
WHERE line.company_id = %s AND line.date >= %s AND line.date <= %s
GROUP BY account.id, account.code, account.name, account.kind
ORDER BY account.code
"""

BEGINNING = date(1900, 1, 1)


def account_balances(
    *, company: Company, end: date, start: date | None = None
) -> list[AccountBalance]:
    """Every account with lines dated from `start` (the beginning, if none) to `end`."""
    rows = tenant_rows(company, BALANCES_SQL, [company.pk, start or BEGINNING, end])
    return [AccountBalance(*row) for row in rows]


ROLE_BY_MONTH_SQL = """
SELECT date_trunc('month', line.date)::date, sum(line.debit - line.credit)
FROM ledger_journalline AS line
JOIN ledger_account AS account ON account.id = line.account_id
WHERE line.company_id = %s AND account.role = %s
GROUP BY 1
ORDER BY 1
"""


def monthly_movement(*, company: Company, role: str) -> list[tuple[date, Decimal]]:
    """(month, debits less credits) of the account with that role, month by month."""
    return [
        (month, amount)
        for month, amount in tenant_rows(company, ROLE_BY_MONTH_SQL, [company.pk, role])
    ]


MONTHLY_SQL = """
SELECT date_trunc('month', line.date)::date AS month, account.kind,
       sum(line.credit - line.debit)
FROM ledger_journalline AS line
JOIN ledger_account AS account ON account.id = line.account_id
WHERE line.company_id = %s AND line.date BETWEEN %s AND %s AND account.kind IN ('income', 'expense')
GROUP BY 1, 2
ORDER BY 1
"""


def monthly_profit(
    *, company: Company, start: date, end: date
) -> list[tuple[date, Decimal, Decimal]]:
    """(month, income, expenses) for each month from `start` to `end` with any."""
    months: dict[date, dict[str, Decimal]] = {}
    for month, kind, amount in tenant_rows(company, MONTHLY_SQL, [company.pk, start, end]):
        months.setdefault(month, {"income": Decimal(0), "expense": Decimal(0)})[kind] = amount
    return [(month, sums["income"], -sums["expense"]) for month, sums in sorted(months.items())]


def account_lines(
    *, company: Company, account: Account, start: date, end: date
) -> tuple[Decimal, QuerySet[JournalLine]]:
    """The account's balance before `start` and its lines from `start` to `end` in date
    order, with their entries (needs the company's tenant context to read the lines)."""
    before = account_balances(company=company, end=start - timedelta(days=1))
    opening = next((row.balance for row in before if row.account_id == account.pk), Decimal(0))
    lines = (
        JournalLine.objects.filter(account=account, date__gte=start, date__lte=end)
        .select_related("entry")
        .order_by("date", "entry_id", "id")
    )
    return opening, lines


def open_bills(*, company: Company, as_of: date) -> list[tuple[SupplierBill, Decimal]]:
    """Bills dated by `as_of` that still owed money on that day (payments made after it not
    counted), with what they owed."""
    with tenant_context(company):
        bills = list(
            SupplierBill.objects.filter(bill_date__lte=as_of)
            .annotate(
                paid_by=Coalesce(
                    Sum("payments__amount", filter=Q(payments__paid_on__lte=as_of)),
                    Decimal(0),
                )
            )
            .order_by("due_date", "id")
        )
    return [(bill, bill.total - bill.paid_by) for bill in bills if bill.total > bill.paid_by]


RECEIVABLES_SQL = """
SELECT entry.reference, min(line.date), sum(line.debit - line.credit)
FROM ledger_journalline AS line
JOIN ledger_account AS account ON account.id = line.account_id
JOIN ledger_journalentry AS entry ON entry.id = line.entry_id
WHERE line.company_id = %s AND account.role = %s AND line.date <= %s
GROUP BY entry.reference
HAVING sum(line.debit - line.credit) <> 0
ORDER BY 2
"""


def open_receivables(*, company: Company, as_of: date) -> list[tuple[str, date, Decimal]]:
    """What customers owe as at `as_of`, by the document it was posted under: (reference,
    first posted, amount due)."""
    return [
        (reference, first, amount)
        for reference, first, amount in tenant_rows(
            company, RECEIVABLES_SQL, [company.pk, RECEIVABLES, as_of]
        )
    ]


TAX_DETAIL_SQL = """
SELECT tax_code, count(*), sum(tax_base), sum(tax)
FROM ledger_journalline
WHERE company_id = %s AND date BETWEEN %s AND %s AND tax_code <> ''
GROUP BY tax_code
ORDER BY tax_code
"""


def tax_detail(
    *, company: Company, start: date, end: date
) -> list[tuple[str, int, Decimal, Decimal]]:
    """(tax code, lines, value, GST) over the period."""
    return [tuple(row) for row in tenant_rows(company, TAX_DETAIL_SQL, [company.pk, start, end])]
