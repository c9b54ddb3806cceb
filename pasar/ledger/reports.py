"""The books' reports as tables (rendering.Report), the same for the screen, the API and the
CSV, XLSX and PDF exports: trial balance, profit and loss, balance sheet, general ledger,
aged receivables and payables. (The GST detail by tax code is the GST context's.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pasar.core.errors import DomainError, NotFound
from pasar.core.exports import Report
from pasar.core.tenant import tenant_context
from pasar.ledger import selectors
from pasar.ledger.models import Account, AccountKind
from pasar.tenancy.models import Company

ZERO = Decimal("0.00")
AGE_BUCKETS = (("Not yet due", None), ("1-30 days", 30), ("31-60 days", 60), ("61-90 days", 90))
OVER_90 = "Over 90 days"


@dataclass(frozen=True)
class Period:
    """What a report is asked for: dates (`start` may be None for "since the beginning")
    and, for the general ledger, an account's code."""

    start: date | None
    end: date
    account: str = ""


def dates_text(period: Period) -> str:
    if period.start is None:
        return f"As at {period.end:%d %b %Y}"
    return f"{period.start:%d %b %Y} to {period.end:%d %b %Y}"


def needs_start(period: Period) -> date:
    if period.start is None:
        raise DomainError("This report needs a start date.", code="start_required")
    if period.start > period.end:
        raise DomainError("The period must start before it ends.", code="invalid_period")
    return period.start


def trial_balance(company: Company, period: Period) -> Report:
    rows = selectors.account_balances(company=company, start=period.start, end=period.end)
    report = Report(
        title="Trial balance",
        subtitle=f"{company.legal_name}: {dates_text(period)}",
        columns=["Code", "Account", "Debit", "Credit"],
    )
    debits = credits = ZERO
    for row in rows:
        debit = row.balance if row.balance > 0 else ZERO
        credit = -row.balance if row.balance < 0 else ZERO
        if debit or credit:
            report.add(row.code, row.name, debit, credit)
        debits, credits = debits + debit, credits + credit
    report.add("", "Total", debits, credits, bold=True)
    report.data = {"debits": debits, "credits": credits, "difference": debits - credits}
    return report


def profit_and_loss(company: Company, period: Period) -> Report:
    start = needs_start(period)
    rows = selectors.account_balances(company=company, start=start, end=period.end)
    report = Report(
        title="Profit and loss",
        subtitle=f"{company.legal_name}: {dates_text(period)}",
        columns=["Code", "Account", "Amount"],
    )
    totals = {}
    for kind, heading in ((AccountKind.INCOME, "Income"), (AccountKind.EXPENSE, "Expenses")):
        report.add("", heading, None, bold=True)
        total = ZERO
        for row in rows:
            if row.kind == kind and row.natural:
                report.add(row.code, row.name, row.natural)
                total += row.natural
        report.add("", f"Total {heading.lower()}", total, bold=True)
        totals[kind] = total
    profit = totals[AccountKind.INCOME] - totals[AccountKind.EXPENSE]
    report.add("", "Net profit" if profit >= 0 else "Net loss", profit, bold=True)
    months = selectors.monthly_profit(company=company, start=start, end=period.end)
    # Months named short ("Jan 26") so that a year of them fits under the bars.
    report.chart = [(f"{month:%b %y}", income - expenses) for month, income, expenses in months]
    report.data = {
        "income": totals[AccountKind.INCOME],
        "expenses": totals[AccountKind.EXPENSE],
        "profit": profit,
        "months": [
            {"month": f"{month:%Y-%m}", "income": income, "expenses": expenses}
            for month, income, expenses in months
        ],
    }
    return report


def balance_sheet(company: Company, period: Period) -> Report:
    """As at `end`: assets against liabilities and equity, the profit not yet closed to
    retained earnings shown as earnings to date, so the two sides always agree."""
    rows = selectors.account_balances(company=company, end=period.end)
    report = Report(
        title="Balance sheet",
        subtitle=f"{company.legal_name}: as at {period.end:%d %b %Y}",
        columns=["Code", "Account", "Amount"],
    )
    totals: dict[str, Decimal] = {}
    earnings = sum(
        (row.natural if row.kind == AccountKind.INCOME else -row.natural)
        for row in rows
        if row.kind in (AccountKind.INCOME, AccountKind.EXPENSE)
    )
    for kind, heading in (
        (AccountKind.ASSET, "Assets"),
        (AccountKind.LIABILITY, "Liabilities"),
        (AccountKind.EQUITY, "Equity"),
    ):
        report.add("", heading, None, bold=True)
        total = ZERO
        for row in rows:
            if row.kind == kind and row.natural:
                report.add(row.code, row.name, row.natural)
                total += row.natural
        if kind == AccountKind.EQUITY:
            report.add("", "Earnings to date", earnings)
            total += earnings
        report.add("", f"Total {heading.lower()}", total, bold=True)
        totals[kind] = total
    liabilities_and_equity = totals[AccountKind.LIABILITY] + totals[AccountKind.EQUITY]
    report.add("", "Liabilities and equity", liabilities_and_equity, bold=True)
    report.chart = [
        ("Assets", totals[AccountKind.ASSET]),
        ("Liabilities", totals[AccountKind.LIABILITY]),
        ("Equity", totals[AccountKind.EQUITY]),
    ]
    report.data = {
        "assets": totals[AccountKind.ASSET],
        "liabilities": totals[AccountKind.LIABILITY],
        "equity": totals[AccountKind.EQUITY],
        "earnings_to_date": earnings,
    }
    return report


def general_ledger(company: Company, period: Period) -> Report:
    start = needs_start(period)
    with tenant_context(company):
        account = Account.objects.filter(code=period.account).first()
        if account is None:
            raise NotFound(
                f"No account has the code {period.account or '(none given)'}.",
                code="unknown_account",
            )
        opening, lines = selectors.account_lines(
            company=company, account=account, start=start, end=period.end
        )
        report = Report(
            title=f"General ledger: {account.code} {account.name}",
            subtitle=f"{company.legal_name}: {dates_text(period)}",
            columns=["Date", "Entry", "Description", "Reference", "Debit", "Credit", "Balance"],
        )
        report.add("", "", "Opening balance", "", None, None, opening, bold=True)
        balance = opening
        for line in lines:
            balance += line.debit - line.credit
            report.add(
                line.date,
                line.entry.number,
                line.description or line.entry.description,
                line.entry.reference,
                line.debit or None,
                line.credit or None,
                balance,
            )
    report.add("", "", "Closing balance", "", None, None, balance, bold=True)
    report.data = {"account": account.code, "opening": opening, "closing": balance}
    return report


def _bucket(as_of: date, due: date) -> str:
    late = (as_of - due).days
    for name, limit in AGE_BUCKETS:
        if limit is None and late <= 0:
            return name
        if limit is not None and late <= limit:
            return name
    return OVER_90


def _ageing(
    title: str, company: Company, as_of: date, items: list[tuple[str, str, date, Decimal]]
) -> Report:
    names = [name for name, _ in AGE_BUCKETS] + [OVER_90]
    report = Report(
        title=title,
        subtitle=f"{company.legal_name}: as at {as_of:%d %b %Y}",
        columns=["Who", "Reference", "Due", *names],
    )
    totals = dict.fromkeys(names, ZERO)
    for who, reference, due, amount in items:
        bucket = _bucket(as_of, due)
        totals[bucket] += amount
        report.add(who, reference, due, *[amount if name == bucket else None for name in names])
    report.add("Total", "", "", *totals.values(), bold=True)
    report.chart = list(totals.items())
    report.data = {"buckets": totals, "total": sum(totals.values(), ZERO)}
    return report


def aged_payables(company: Company, period: Period) -> Report:
    owed = selectors.open_bills(company=company, as_of=period.end)
    return _ageing(
        "Aged payables",
        company,
        period.end,
        [
            (bill.supplier_name, f"{bill.number} ({bill.supplier_reference})", bill.due_date, due)
            for bill, due in owed
        ],
    )


def aged_receivables(company: Company, period: Period) -> Report:
    """What customers owe, aged from the day it was posted (shop sales are paid at checkout,
    so this holds sales on credit posted to receivables by journal)."""
    items = selectors.open_receivables(company=company, as_of=period.end)
    return _ageing(
        "Aged receivables",
        company,
        period.end,
        [("", reference, first, amount) for reference, first, amount in items],
    )


REPORTS: dict[str, tuple[str, Callable[[Company, Period], Report]]] = {
    "trial-balance": ("Trial balance", trial_balance),
    "profit-and-loss": ("Profit and loss", profit_and_loss),
    "balance-sheet": ("Balance sheet", balance_sheet),
    "general-ledger": ("General ledger", general_ledger),
    "aged-receivables": ("Aged receivables", aged_receivables),
    "aged-payables": ("Aged payables", aged_payables),
}


def report_make(name: str, *, company: Company, period: Period) -> Report:
    found = REPORTS.get(name)
    if found is None:
        raise NotFound(f"There is no report called {name}.", code="unknown_report")
    return found[1](company, period)
