"""Posting to the books: the chart, entries, reversals and period locks.

Every entry goes through `entry_post`, which refuses what the database would refuse too
(unbalanced, negative, a locked date) with a clear message first, numbers the entry without
gaps and, given the event it came from, posts it once however often the event arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from pasar.core import numbering
from pasar.core.audit import audit_record
from pasar.core.errors import Conflict, DomainError, NotFound
from pasar.core.singapore import GST_TAX_CODES
from pasar.core.tenant import id_of, tenant_context
from pasar.ledger import chart
from pasar.ledger.models import ENTRY_PREFIX, Account, JournalEntry, JournalLine, PeriodLock
from pasar.tenancy.models import Company, User

ZERO = Decimal("0.00")


class UnbalancedEntry(DomainError):
    code = "unbalanced_entry"


class PeriodLocked(Conflict):
    code = "period_locked"


@dataclass(frozen=True)
class Line:
    """One line to post. `account` is an Account or the role of one in the chart."""

    account: Account | str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    tax_code: str = ""
    tax_base: Decimal = ZERO
    tax: Decimal = ZERO
    description: str = ""
    channel: str = ""
    location: str = ""


def chart_install(*, company: Company | int) -> list[Account]:
    """Give the company the SME chart of accounts; accounts it already has (by code) stay as
    they are, so installing twice changes nothing."""
    now = timezone.now()
    with tenant_context(company):
        have = set(Account.objects.values_list("code", flat=True))
        Account.objects.bulk_create(
            Account(
                company_id=id_of(company),
                code=template.code,
                name=template.name,
                kind=template.kind,
                role=template.role,
                created_at=now,
            )
            for template in chart.SME_CHART
            if template.code not in have
        )
        return list(Account.objects.all())


def _accounts(company: Company | int, wanted: Sequence[Account | str]) -> dict[str, Account]:
    """The chart's accounts for these roles, installing the template's accounts the chart
    lacks on first use (a company's first posting, or a role the template gained since)."""
    roles = {item for item in wanted if isinstance(item, str)}
    if not roles:
        return {}
    found = {a.role: a for a in Account.objects.filter(role__in=roles)}
    if len(found) < len(roles):
        chart_install(company=company)
        found = {a.role: a for a in Account.objects.filter(role__in=roles)}
    missing = roles - set(found)
    if missing:
        raise NotFound(
            f"The chart has no account for {', '.join(sorted(missing))}.", code="account_missing"
        )
    return found


def _check(lines: Sequence[Line]) -> None:
    if len(lines) < 2:
        raise UnbalancedEntry("An entry has at least two lines.")
    for line in lines:
        if line.debit < 0 or line.credit < 0 or (line.debit > 0) == (line.credit > 0):
            raise UnbalancedEntry("Each line is a debit or a credit, above zero.")
        if line.tax_code and line.tax_code not in GST_TAX_CODES:
            raise DomainError(f"{line.tax_code} is not a GST tax code.", code="unknown_tax_code")
    debits = sum((line.debit for line in lines), ZERO)
    credits = sum((line.credit for line in lines), ZERO)
    if debits != credits:
        raise UnbalancedEntry(
            f"Debits (S${debits:,.2f}) and credits (S${credits:,.2f}) must be equal.",
            details=[{"debits": str(debits), "credits": str(credits)}],
        )


def entry_post(
    *,
    company: Company | int,
    day: date,
    description: str,
    source: str,
    lines: Sequence[Line],
    reference: str = "",
    event_id: Any = None,
    actor: User | None = None,
    reverses: JournalEntry | None = None,
    past_locks: bool = False,
) -> JournalEntry:
    """Post a balanced entry dated `day`. Given `event_id`, an entry already posted from that
    event for this `source` is returned instead (events may arrive more than once). A day in
    a locked period is refused, unless `past_locks`: then the entry lands on the first open
    day after it (what happened in a filed period is adjusted in the next open one)."""
    _check(lines)
    with tenant_context(company, all_or_nothing=True):
        if event_id is not None:
            earlier = JournalEntry.objects.filter(event_id=event_id, source=source).first()
            if earlier is not None:
                return earlier
        locked = PeriodLock.objects.filter(start__lte=day, end__gte=day).first()
        if locked is not None and past_locks:
            day = first_open_day(company=company, day=locked.end + timedelta(days=1))
        elif locked is not None:
            raise PeriodLocked(
                f"{day:%d %b %Y} is in a locked period ({locked.reason}); post it in an open one."
            )
        accounts = _accounts(company, [line.account for line in lines])
        resolved = [
            line.account if isinstance(line.account, Account) else accounts[line.account]
            for line in lines
        ]
        if any(account.is_archived for account in resolved):
            raise Conflict("An archived account takes no new postings.", code="account_archived")
        now = timezone.now()
        entry = JournalEntry.objects.create(
            company_id=id_of(company),
            number=numbering.next_number(company=company, prefix=ENTRY_PREFIX),
            date=day,
            description=description[:200],
            source=source,
            reference=reference[:60],
            event_id=event_id,
            reverses=reverses,
            created_by=actor,
            posted_at=now,
        )
        JournalLine.objects.bulk_create(
            JournalLine(
                company_id=entry.company_id,
                entry=entry,
                account=account,
                date=day,
                debit=line.debit,
                credit=line.credit,
                tax_code=line.tax_code,
                tax_base=line.tax_base,
                tax=line.tax,
                description=line.description[:200],
                channel=line.channel[:20],
                location=line.location[:40],
            )
            for line, account in zip(lines, resolved, strict=True)
        )
        if actor is not None:
            audit_record(action="journal.posted", obj=entry, actor=actor)
    return entry


def entry_reverse(
    *, company: Company | int, entry: JournalEntry, day: date, actor: User | None = None
) -> JournalEntry:
    """The entry that cancels `entry` exactly, dated `day` (in an open period)."""
    with tenant_context(company, all_or_nothing=True):
        if JournalEntry.objects.filter(reverses=entry).exists():
            raise Conflict(f"{entry.number} is already reversed.", code="already_reversed")
        lines = [
            Line(
                account=line.account,
                debit=line.credit,
                credit=line.debit,
                tax_code=line.tax_code,
                tax_base=-line.tax_base,
                tax=-line.tax,
                description=line.description,
                channel=line.channel,
                location=line.location,
            )
            for line in entry.lines.select_related("account")
        ]
        return entry_post(
            company=company,
            day=day,
            description=f"Reversal of {entry.number}",
            source="reversal",
            reference=entry.number,
            lines=lines,
            actor=actor,
            reverses=entry,
        )


def first_open_day(*, company: Company | int, day: date) -> date:
    """`day`, or if it is locked the first day after the locks that hold it: where a posting
    from an event dated in a filed period lands (IRAS: later adjustments go in the next open
    period). In the caller's tenant context."""
    while True:
        lock = PeriodLock.objects.filter(start__lte=day, end__gte=day).order_by("-end").first()
        if lock is None:
            return day
        day = lock.end + timedelta(days=1)


def period_lock(
    *, company: Company | int, start: date, end: date, reason: str, actor: User | None = None
) -> PeriodLock:
    """Lock the dates from `start` to `end`: nothing more is posted on them."""
    if start > end:
        raise DomainError("A period starts before it ends.", code="invalid_period")
    with tenant_context(company, all_or_nothing=True):
        lock = PeriodLock.objects.create(
            company_id=id_of(company),
            start=start,
            end=end,
            reason=reason[:100],
            locked_by=actor,
            locked_at=timezone.now(),
        )
        audit_record(action="ledger.period_locked", obj=lock, actor=actor)
    return lock


@dataclass(frozen=True)
class ManualLine:
    """A line of a journal typed by finance: the account by its code."""

    account_code: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    tax_code: str = ""
    tax_base: Decimal = ZERO
    tax: Decimal = ZERO
    description: str = ""


def journal_post_manual(
    *,
    company: Company | int,
    day: date,
    description: str,
    lines: Sequence[ManualLine],
    actor: User,
    reference: str = "",
    today: date | None = None,
) -> JournalEntry:
    """A journal finance typed (accruals, corrections, opening balances): balanced, in an
    open period, not dated in the future, each account found by its code; audited."""
    today = today or timezone.localdate()
    if day > today:
        raise DomainError(
            f"A journal is dated today or earlier, not {day:%d %b %Y}.", code="future_date"
        )
    if not description.strip():
        raise DomainError("Say what the journal is for.", code="description_required")
    with tenant_context(company, all_or_nothing=True):
        codes = {line.account_code for line in lines}
        found = {account.code: account for account in Account.objects.filter(code__in=codes)}
        unknown = sorted(codes - set(found))
        if unknown:
            raise DomainError(
                f"No account has the code {', '.join(unknown)}.",
                code="unknown_account",
                details=[{"field": "account", "code": code} for code in unknown],
            )
        return entry_post(
            company=company,
            day=day,
            description=description.strip(),
            source="manual",
            reference=reference,
            lines=[
                Line(
                    account=found[line.account_code],
                    debit=line.debit,
                    credit=line.credit,
                    tax_code=line.tax_code,
                    tax_base=line.tax_base,
                    tax=line.tax,
                    description=line.description,
                )
                for line in lines
            ],
            actor=actor,
        )
