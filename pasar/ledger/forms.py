"""Forms of the books' pages: a report's period, a manual journal and its lines, a supplier
bill and its lines, a bill's payment, a credit note. They check what a person typed; whether
the write may happen (balanced, an open period, within the bill or the invoice) is decided by
`pasar.ledger.services`, whose errors land above the form or next to the field concerned."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms
from django.utils import timezone

from pasar.core.forms import ServiceForm
from pasar.core.money import CENT, MoneyFormField
from pasar.core.singapore import GST_TAX_CODES
from pasar.ledger.models import Account, AccountKind
from pasar.ledger.services import ZERO, BillLineInput, ManualLine
from pasar.ledger.services.bills import BILL_CODES

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def _account_choices(accounts: Iterable[Account]) -> list[tuple[str, str]]:
    return [("", "Choose an account")] + [
        (account.code, f"{account.code} {account.name}")
        for account in accounts
        if not account.is_archived
    ]


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=DATE_INPUT)
    end = forms.DateField(label="To", required=False, widget=DATE_INPUT)
    account = forms.CharField(label="Account", required=False, max_length=10)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The period must start before it ends.")
        return data


class JournalForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "future_date": "date",
        "period_locked": "date",
        "description_required": "description",
    }

    date = forms.DateField(label="Date", widget=DATE_INPUT, initial=timezone.localdate)
    description = forms.CharField(label="What it is for", max_length=200)
    reference = forms.CharField(label="Reference", max_length=60, required=False)


class JournalLineForm(forms.Form):
    account = forms.ChoiceField(label="Account", required=False)
    debit = MoneyFormField(label="Debit (S$)", required=False, minimum=CENT)
    credit = MoneyFormField(label="Credit (S$)", required=False, minimum=CENT)
    tax_code = forms.ChoiceField(
        label="Tax code",
        required=False,
        choices=[("", "None")] + [(code, code) for code in sorted(GST_TAX_CODES)],
    )
    description = forms.CharField(label="Line note", max_length=200, required=False)

    def __init__(self, *args: Any, accounts: Iterable[Account] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = _account_choices(accounts)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        amounts = [data.get("debit"), data.get("credit")]
        if data.get("account") and not any(amounts):
            raise forms.ValidationError("Give the line a debit or a credit.")
        if any(amounts) and not data.get("account"):
            raise forms.ValidationError("Choose the line's account.")
        if all(amounts):
            raise forms.ValidationError("A line is a debit or a credit, not both.")
        return data

    @property
    def is_blank(self) -> bool:
        return not (self.cleaned_data.get("account") or self.cleaned_data.get("debit"))


class BillForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "future_date": "bill_date",
        "invalid_due_date": "due_date",
        "supplier_required": "supplier_name",
        "bill_exists": "supplier_reference",
        "period_locked": "bill_date",
    }

    supplier_name = forms.CharField(label="Supplier", max_length=120)
    supplier_gst_number = forms.CharField(
        label="Supplier's GST registration number", max_length=20, required=False
    )
    supplier_reference = forms.CharField(label="Their invoice number", max_length=60)
    bill_date = forms.DateField(label="Invoice date", widget=DATE_INPUT)
    due_date = forms.DateField(label="Due date", widget=DATE_INPUT)
    description = forms.CharField(label="Description", max_length=200, required=False)


class BillLineForm(forms.Form):
    account = forms.ChoiceField(label="Account", required=False)
    description = forms.CharField(label="Description", max_length=200, required=False)
    amount = MoneyFormField(label="Amount without GST (S$)", required=False, minimum=CENT)
    tax_code = forms.ChoiceField(
        label="Tax code",
        choices=[(code, code) for code in sorted(BILL_CODES)],
        initial="TX",
        required=False,
    )

    def __init__(self, *args: Any, accounts: Iterable[Account] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = _account_choices(accounts)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("amount") and not data.get("account"):
            raise forms.ValidationError("Choose the line's account.")
        if data.get("account") and not data.get("amount"):
            raise forms.ValidationError("Give the line its amount.")
        return data

    @property
    def is_blank(self) -> bool:
        return not self.cleaned_data.get("amount")


JournalLineFormSet = forms.formset_factory(JournalLineForm, extra=6, max_num=50)
BillLineFormSet = forms.formset_factory(BillLineForm, extra=4, max_num=50)


class BillPaymentForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "payment_above_bill": "amount",
        "future_date": "paid_on",
        "invalid_date": "paid_on",
        "period_locked": "paid_on",
    }

    amount = MoneyFormField(label="Amount paid (S$)", minimum=CENT)
    paid_on = forms.DateField(label="Paid on", widget=DATE_INPUT, initial=timezone.localdate)


class AccountForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "invalid_account_code": "code",
        "account_exists": "code",
        "name_required": "name",
    }

    code = forms.CharField(label="Code", max_length=10, help_text="3 to 10 digits, e.g. 6300.")
    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=AccountKind.choices)


class PayoutForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "future_date": "paid_on",
        "payout_exists": "reference",
        "invalid_amount": "fee",
        "period_locked": "paid_on",
    }

    gateway = forms.CharField(label="Gateway", max_length=40, help_text="Stripe, HitPay, 2C2P...")
    reference = forms.CharField(label="Payout reference", max_length=60)
    paid_on = forms.DateField(label="Reached the bank on", widget=DATE_INPUT)
    gross = MoneyFormField(label="Payments settled (S$)", minimum=CENT)
    fee = MoneyFormField(label="Fees (S$)", required=False)
    fee_gst = MoneyFormField(label="GST on the fees (S$)", required=False)


class CreditNoteForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "credit_above_document": "amount",
        "reason_required": "reason",
        "period_locked": "amount",
    }

    amount = MoneyFormField(label="Amount to credit, with GST (S$)", minimum=CENT)
    reason = forms.CharField(label="Reason", max_length=200)


def manual_lines(formset: forms.BaseFormSet) -> list[ManualLine]:
    """The journal's lines as the service takes them; lines left empty are skipped."""
    return [
        ManualLine(
            account_code=line.cleaned_data["account"],
            debit=line.cleaned_data.get("debit") or ZERO,
            credit=line.cleaned_data.get("credit") or ZERO,
            tax_code=line.cleaned_data.get("tax_code") or "",
            description=line.cleaned_data.get("description") or "",
        )
        for line in formset
        if not line.is_blank
    ]


def bill_lines(formset: forms.BaseFormSet, *, supplier: str) -> list[BillLineInput]:
    """The bill's lines as the service takes them (a line without a description is
    described by its supplier); lines left empty are skipped."""
    return [
        BillLineInput(
            account_code=line.cleaned_data["account"],
            description=line.cleaned_data.get("description") or supplier,
            amount=line.cleaned_data["amount"],
            tax_code=line.cleaned_data.get("tax_code") or "TX",
        )
        for line in formset
        if not line.is_blank
    ]
