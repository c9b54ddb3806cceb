"""Reads of the books: sums by tax code for the GST return, the lines behind them, balances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import cast

from django.db.models import QuerySet

from pasar.core.tenant import tenant_rows
from pasar.ledger.models import AccountKind, JournalLine
from pasar.tenancy.models import Company

# The return's floor: one pass over the period's lines by the (company, date, tax_code) index.
TAX_TOTALS_SQL = """
SELECT tax_code, sum(tax_base), sum(tax)
FROM ledger_journalline
WHERE company_id = %s AND date BETWEEN %s AND %s AND tax_code <> ''
GROUP BY tax_code
"""

INCOME_SQL = """
SELECT coalesce(sum(line.credit - line.debit), 0)
FROM ledger_journalline AS line
JOIN ledger_account AS account ON account.id = line.account_id
WHERE line.company_id = %s AND line.date BETWEEN %s AND %s AND account.kind = %s
"""


def tax_totals(*, company: Company, start: date, end: date) -> dict[str, tuple[Decimal, Decimal]]:
    """{tax code: (value without GST, GST)} over the lines dated from `start` to `end`."""
    rows = tenant_rows(company, TAX_TOTALS_SQL, [company.pk, start, end])
    return {code: (base, tax) for code, base, tax in rows}


def income_total(*, company: Company, start: date, end: date) -> Decimal:
    """Revenue for the period as the books show it (every income account, net of debits)."""
    ((total,),) = tenant_rows(company, INCOME_SQL, [company.pk, start, end, AccountKind.INCOME])
    return cast(Decimal, total)


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
