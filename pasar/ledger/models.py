"""The books: a chart of accounts per company, journal entries and their lines, locked periods.

The database keeps the rules a bug in the app must not break (migration 0002):
- a line is a debit or a credit, never both, never negative;
- an entry's debits equal its credits when its transaction commits (a deferred trigger);
- a posted entry and its lines are never changed or deleted: a correction is a reversal;
- nothing is posted on a date inside a locked period.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from pasar.core import numbering
from pasar.core.money import money_field
from pasar.core.tenant import PublicIdMixin, TenantModel

ENTRY_PREFIX = numbering.register("JE", "journal entry")


class AccountKind(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"


# Kinds whose balance is normally a debit; the others' is normally a credit.
DEBIT_KINDS = frozenset({AccountKind.ASSET, AccountKind.EXPENSE})


class Account(PublicIdMixin, TenantModel):
    """One account of a company's chart. `role` names the accounts postings look for
    (payment clearing, GST output tax...); an account once used is archived, never deleted."""

    code = models.CharField(max_length=10)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=AccountKind.choices)
    role = models.CharField(max_length=30, blank=True, default="")
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["code"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "code"], name="account_code_unique"),
            models.UniqueConstraint(
                fields=["company", "role"], condition=~Q(role=""), name="account_role_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[kind.value for kind in AccountKind]),
                name="account_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class JournalEntry(PublicIdMixin, TenantModel):
    """A posted entry: balanced, numbered without gaps, never changed afterwards.

    `event_id` is the event it was posted from (one entry per event and purpose: posting the
    same event again finds it); `source` and `reference` name the document behind it.
    """

    number = models.CharField(max_length=20)
    date = models.DateField()  # the Singapore date it belongs to (time of supply for sales)
    description = models.CharField(max_length=200)
    source = models.CharField(max_length=30)  # e.g. "sale", "refund", "manual", "reversal"
    reference = models.CharField(max_length=60, blank=True, default="")
    event_id = models.UUIDField(null=True, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["date", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "number"], name="journal_number_unique"),
            models.UniqueConstraint(
                fields=["company", "event_id", "source"],
                condition=Q(event_id__isnull=False),
                name="journal_one_entry_per_event",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "date"], name="journal_entry_date"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.description}"


class JournalLine(TenantModel):
    """A debit or a credit to one account. A line that records a taxable supply or purchase
    carries its tax code and `tax_base` (the value without GST); a GST line carries the code
    and `tax` (the GST). The F5 return is their sums by tax code over the period.

    `date` repeats the entry's, so that a return reads one table in date order.
    """

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    date = models.DateField()
    debit = money_field(default=0)
    credit = money_field(default=0)
    tax_code = models.CharField(max_length=10, blank=True, default="")
    tax_base = money_field(default=0)
    tax = money_field(default=0)
    description = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(debit__gte=0, credit__gte=0)
                & (Q(debit=0, credit__gt=0) | Q(credit=0, debit__gt=0)),
                name="journal_line_debit_or_credit",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "date", "tax_code"], name="journal_line_tax"),
            models.Index(fields=["company", "account", "date"], name="journal_line_account"),
        ]

    @property
    def amount(self) -> Any:
        """Debit positive, credit negative."""
        return self.debit - self.credit


class PeriodLock(PublicIdMixin, TenantModel):
    """Dates on which nothing more may be posted: a filed GST return's period, or a period
    the books were closed for. Later adjustments land in the next open period."""

    start = models.DateField()
    end = models.DateField()
    reason = models.CharField(max_length=100)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["start"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(start__lte=models.F("end")), name="lock_ordered"),
        ]
