"""Writes of the books, one module per capability; callers write
`from pasar.ledger import services` and `services.entry_post(...)`.

- `journals`: the chart installed, entries posted and reversed, manual journals, period locks
- `accounts`: the chart as a company edits it
- `documents`: tax invoices, simplified tax invoices, receipts and credit notes
- `bills`: supplier bills and their payments
- `payouts`: gateway settlements (clearing to bank, fees and their GST)
"""

from pasar.ledger.services.accounts import account_create, account_delete, account_update
from pasar.ledger.services.bills import BillLineInput, bill_enter, bill_pay
from pasar.ledger.services.documents import (
    CreditTooLarge,
    credit_note_correct,
    credit_note_entry_lines,
    credit_note_issue,
    document_email_after_commit,
    document_from_link,
    document_link,
    document_output,
    document_send,
    left_to_credit,
    sale_document_issue,
)
from pasar.ledger.services.journals import (
    ZERO,
    Line,
    ManualLine,
    PeriodLocked,
    UnbalancedEntry,
    chart_install,
    entry_post,
    entry_reverse,
    journal_post_manual,
    period_lock,
)
from pasar.ledger.services.payouts import payout_record

__all__ = [
    "ZERO",
    "BillLineInput",
    "CreditTooLarge",
    "Line",
    "ManualLine",
    "PeriodLocked",
    "UnbalancedEntry",
    "account_create",
    "account_delete",
    "account_update",
    "bill_enter",
    "bill_pay",
    "chart_install",
    "credit_note_correct",
    "credit_note_entry_lines",
    "credit_note_issue",
    "document_email_after_commit",
    "document_from_link",
    "document_link",
    "document_output",
    "document_send",
    "entry_post",
    "entry_reverse",
    "journal_post_manual",
    "left_to_credit",
    "payout_record",
    "period_lock",
    "sale_document_issue",
]
