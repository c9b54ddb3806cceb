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
INVOICE_PREFIX = numbering.register("INV", "tax invoice")
RECEIPT_PREFIX = numbering.register("RCT", "receipt")
CREDIT_NOTE_PREFIX = numbering.register("CN", "credit note")
BILL_PREFIX = numbering.register("BILL", "supplier bill")


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
    # Where it happened, for reports by channel or location: the sales channel's code, the
    # stock location's public id.
    channel = models.CharField(max_length=20, blank=True, db_default="")
    location = models.CharField(max_length=40, blank=True, db_default="")

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


class DocumentKind(models.TextChoices):
    TAX_INVOICE = "tax_invoice", "Tax invoice"
    SIMPLIFIED_TAX_INVOICE = "simplified_tax_invoice", "Simplified tax invoice"
    RECEIPT = "receipt", "Receipt"
    CREDIT_NOTE = "credit_note", "Credit note"


class Document(PublicIdMixin, TenantModel):
    """A tax invoice, simplified tax invoice, receipt or credit note as issued: every figure
    and name it shows is kept as it was on the day (a reprint shows the same document, marked
    as a copy). Numbers are gapless per series: INV for tax invoices of both kinds, RCT for
    receipts, CN for credit notes.

    `lines` holds what the document lists: description, tax_code, quantity, unit_price,
    amount (without GST) and gst, as decimal strings.
    """

    kind = models.CharField(max_length=30, choices=DocumentKind.choices)
    number = models.CharField(max_length=20)
    issued_on = models.DateField()
    order = models.UUIDField(null=True, blank=True)  # the sales order it was issued for
    order_number = models.CharField(max_length=20, blank=True, default="")
    supplier = models.JSONField()  # name, uen, gst_number, address lines, as on the day
    customer_name = models.CharField(max_length=120, blank=True, default="")
    customer_email = models.EmailField(blank=True, default="")
    customer_address = models.JSONField(default=list, blank=True)  # lines of text
    currency = models.CharField(max_length=3, default="SGD")
    gst_rate = models.DecimalField(max_digits=5, decimal_places=4)
    prices_include_gst = models.BooleanField(default=True)
    lines = models.JSONField()
    subtotal = money_field()  # without GST
    gst = money_field()
    total = money_field()  # with GST
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    reason = models.CharField(max_length=200, blank=True, default="")
    event_id = models.UUIDField(null=True, blank=True)
    # Times printed or emailed: the first is the original, every later one is marked COPY.
    outputs = models.PositiveIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-issued_on", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "number"], name="document_number_unique"),
            models.UniqueConstraint(
                fields=["company", "event_id", "kind"],
                condition=Q(event_id__isnull=False),
                name="document_one_per_event",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[kind.value for kind in DocumentKind]),
                name="document_kind_known",
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, gst__gte=0, total__gte=0),
                name="document_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind="credit_note", corrects__isnull=False, reason__gt="")
                | (~Q(kind="credit_note") & Q(corrects__isnull=True)),
                name="credit_note_corrects_with_reason",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "order_number"], name="document_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def title(self) -> str:
        """The words the document is headed with (IRAS: "tax invoice" in a prominent place)."""
        return str(self.get_kind_display())


class SupplierBill(PublicIdMixin, TenantModel):
    """A supplier's invoice as finance entered it, with its lines' tax codes: posted to the
    books when entered (expense or goods received, GST input tax, payables) and paid off by
    `BillPayment`s."""

    number = models.CharField(max_length=20)  # ours, BILL-000001
    supplier_name = models.CharField(max_length=120)
    supplier_gst_number = models.CharField(max_length=20, blank=True, default="")
    supplier_reference = models.CharField(max_length=60)  # the supplier's invoice number
    bill_date = models.DateField()
    due_date = models.DateField()
    description = models.CharField(max_length=200, blank=True, default="")
    subtotal = money_field()
    gst = money_field()
    total = money_field()
    paid = money_field(default=0)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="bill")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-bill_date", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "number"], name="bill_number_unique"),
            models.UniqueConstraint(
                fields=["company", "supplier_name", "supplier_reference"],
                name="bill_supplier_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(paid__gte=0, paid__lte=models.F("total")), name="bill_paid_in_range"
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("bill_date")), name="bill_due_after_issue"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.supplier_name} {self.supplier_reference}"

    @property
    def outstanding(self) -> Any:
        return self.total - self.paid


class SupplierBillLine(TenantModel):
    bill = models.ForeignKey(SupplierBill, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=200)
    amount = money_field()  # without GST
    tax_code = models.CharField(max_length=10)
    gst = money_field(default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]


class BillPayment(PublicIdMixin, TenantModel):
    bill = models.ForeignKey(SupplierBill, on_delete=models.PROTECT, related_name="payments")
    paid_on = models.DateField()
    amount = money_field()
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["paid_on", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bill_payment_positive"),
        ]


class GatewayPayout(PublicIdMixin, TenantModel):
    """A gateway's settlement as its statement shows it: the captures it settles (gross), the
    fees it kept with the GST on them, and what reached the bank (net = gross - fee -
    fee_gst). Posted when recorded: it clears payment clearing to the bank and books the fees
    with their input tax."""

    gateway = models.CharField(max_length=40)  # as the statement names it: Stripe, HitPay...
    reference = models.CharField(max_length=60)  # the payout's id on the statement
    paid_on = models.DateField()
    gross = money_field()
    fee = money_field()
    fee_gst = money_field()
    net = money_field()
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="payout")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-paid_on", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "gateway", "reference"], name="payout_reference_unique"
            ),
            models.CheckConstraint(
                condition=Q(gross__gt=0, fee__gte=0, fee_gst__gte=0, net__gte=0)
                & Q(net=models.F("gross") - models.F("fee") - models.F("fee_gst")),
                name="payout_adds_up",
            ),
        ]
